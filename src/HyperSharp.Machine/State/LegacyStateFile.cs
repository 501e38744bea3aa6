using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using HyperSharp.Hypervisor;
using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.State;

/// <summary>
/// Reads saved-state files of format 1, as builds before format 2 wrote them: after the magic and the version, an
/// int32 length and a JSON header (configuration, the backend's platform blob, each processor as a standalone
/// "HSVP" state, each device's record as JSON), then memory as runs (u64 offset, i32 pages, the pages) ending in a
/// run at offset 2^64-1. Nothing was checksummed; every length and bound is checked, and a short file is refused
/// naming where it ends. The records come out as version 1 of each, which their readers still read.
/// </summary>
internal static class LegacyStateFile
{
    private const int MaxRunPages = 256, Page = 4096;

    /// <summary>The JSON header as format 1 wrote it.</summary>
    private sealed record Header(int Version, string Backend, SavedVmConfig Config, byte[] Platform, byte[][] Processors, Dictionary<string, JsonElement> Devices);

    /// <summary>Reads the header (the magic and version were read already); the stream is left at the memory runs.</summary>
    public static VmSavedState ReadHeader(Stream file, string path)
    {
        Span<byte> b = stackalloc byte[4];
        StateFileReader.ReadExactly(file, path, b, "the format 1 header length");
        int length = BinaryPrimitives.ReadInt32LittleEndian(b);
        if (length <= 0 || length > 64 << 20) throw new SavedStateException(path, "format 1 header", 12, $"its length {length} is not plausible (damaged)");
        var json = new byte[length];
        StateFileReader.ReadExactly(file, path, json, "the format 1 header");
        Header header;
        try { header = JsonSerializer.Deserialize<Header>(json) ?? throw new SavedStateException(path, "format 1 header", 16, "it is empty"); }
        catch (JsonException e) { throw new SavedStateException(path, "format 1 header", 16, $"it is damaged: {e.Message}", e); }
        if (header.Backend is null || header.Config is null || header.Processors is null || header.Devices is null || header.Platform is null)
            throw new SavedStateException(path, "format 1 header", 16, "it lacks the backend, configuration, platform, processors or devices");
        var processors = new SavedRecord[header.Processors.Length];
        for (int i = 0; i < processors.Length; i++) processors[i] = Processor(header.Processors[i], path, i);
        var devices = header.Devices.Select(d => (d.Key, new SavedRecord(1, Encoding.UTF8.GetBytes(d.Value.GetRawText())))).ToList();
        return new VmSavedState(header.Backend, header.Config, new SavedRecord(1, header.Platform), processors, devices);
    }

    /// <summary>A standalone processor state ("HSVP", u16 version, sections) as a record of that version.</summary>
    private static SavedRecord Processor(byte[] standalone, string path, int index)
    {
        if (standalone is null || standalone.Length < 6 || BinaryPrimitives.ReadUInt32LittleEndian(standalone) != 0x50565348)
            throw new SavedStateException(path, "format 1 header", 16, $"{VmSavedState.ProcessorRecordName(index)} is not a processor state");
        return new SavedRecord(BinaryPrimitives.ReadUInt16LittleEndian(standalone.AsSpan(4)), standalone[6..]);
    }

    /// <summary>Copies the memory runs into guest memory (which starts zeroed), checking every run against the guest's size.</summary>
    public static void ReadMemory(Stream file, GuestMemory memory, string path)
    {
        Span<byte> head = stackalloc byte[12];
        while (true)
        {
            long at = file.Position;
            StateFileReader.ReadExactly(file, path, head, $"the memory run header at 0x{at:X}");
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(head);
            int pages = BinaryPrimitives.ReadInt32LittleEndian(head[8..]);
            if (offset == ulong.MaxValue) return;
            string name = $"memory run at guest address 0x{offset:X}";
            if (pages <= 0 || pages > MaxRunPages || !memory.Contains(offset, (ulong)pages * Page))
                throw new SavedStateException(path, name, at, $"its {pages} pages lie outside the guest's memory (damaged)");
            StateFileReader.ReadExactly(file, path, memory.GetSpan(offset, pages * Page), name);
        }
    }
}
