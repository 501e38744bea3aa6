using System.Buffers.Binary;
using System.Text.Json;
using HyperSharp.Hypervisor;
using HyperSharp.Machine.Memory;

namespace HyperSharp.Machine.State;

/// <summary>
/// The saved-state file: magic, version, a JSON header (<see cref="VmSavedState"/>), then guest
/// memory as runs (offset, page count, bytes) of pages the guest touched that are not all zero.
/// Written to a temporary name, flushed, then renamed, so a crash never leaves half a state file.
/// </summary>
public static class VmStateFile
{
    private const ulong Page = 4096;
    private const int MaxRunPages = 256;

    public static void Write(string path, VmSavedState state, GuestMemory memory)
    {
        string temp = path + ".partial";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            file.Write(VmSavedState.Magic);
            Span<byte> u32 = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(u32, state.Version);
            file.Write(u32);
            byte[] header = JsonSerializer.SerializeToUtf8Bytes(state);
            BinaryPrimitives.WriteInt32LittleEndian(u32, header.Length);
            file.Write(u32);
            file.Write(header);
            WriteMemory(file, memory);
            file.Flush(true);
        }
        File.Move(temp, path, overwrite: true);
    }

    private static void WriteMemory(Stream file, GuestMemory memory)
    {
        Span<byte> head = stackalloc byte[12];
        ulong runStart = 0;
        int runPages = 0;
        void Flush(Span<byte> h)
        {
            if (runPages == 0) return;
            BinaryPrimitives.WriteUInt64LittleEndian(h, runStart);
            BinaryPrimitives.WriteInt32LittleEndian(h[8..], runPages);
            file.Write(h);
            file.Write(memory.GetSpan(runStart, runPages * (int)Page));
            runPages = 0;
        }
        foreach (ulong offset in ResidentPages.Of(memory))
        {
            if (!memory.GetSpan(offset, (int)Page).ContainsAnyExcept((byte)0)) continue; // zero pages need no saving
            if (runPages > 0 && (offset != runStart + (ulong)runPages * Page || runPages == MaxRunPages)) Flush(head);
            if (runPages == 0) runStart = offset;
            runPages++;
        }
        Flush(head);
        BinaryPrimitives.WriteUInt64LittleEndian(head, ulong.MaxValue); // end marker
        BinaryPrimitives.WriteInt32LittleEndian(head[8..], 0);
        file.Write(head);
    }

    /// <summary>Reads the header; the stream is left at the start of the memory runs.</summary>
    public static VmSavedState ReadHeader(Stream file, string path)
    {
        Span<byte> b = stackalloc byte[8];
        if (file.Read(b) != 8 || !b.SequenceEqual(VmSavedState.Magic)) throw new InvalidDataException($"{path}: not a HyperSharp saved-state file");
        file.ReadExactly(b[..4]);
        int version = BinaryPrimitives.ReadInt32LittleEndian(b);
        if (version < 1 || version > VmSavedState.CurrentVersion)
            throw new InvalidDataException($"{path}: saved-state version {version}; this build reads 1 to {VmSavedState.CurrentVersion}");
        file.ReadExactly(b[..4]);
        int length = BinaryPrimitives.ReadInt32LittleEndian(b);
        if (length <= 0 || length > 64 << 20) throw new InvalidDataException($"{path}: header length {length} is not plausible");
        var header = new byte[length];
        file.ReadExactly(header);
        return JsonSerializer.Deserialize<VmSavedState>(header) ?? throw new InvalidDataException($"{path}: empty header");
    }

    /// <summary>Copies the memory runs into guest memory (which starts zeroed), checking every run against its size.</summary>
    public static void ReadMemory(Stream file, GuestMemory memory, string path)
    {
        Span<byte> head = stackalloc byte[12];
        while (true)
        {
            file.ReadExactly(head);
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(head);
            int pages = BinaryPrimitives.ReadInt32LittleEndian(head[8..]);
            if (offset == ulong.MaxValue) return;
            if (pages <= 0 || pages > MaxRunPages || !memory.Contains(offset, (ulong)pages * Page))
                throw new InvalidDataException($"{path}: memory run at 0x{offset:X} of {pages} pages lies outside the guest's memory");
            file.ReadExactly(memory.GetSpan(offset, pages * (int)Page));
        }
    }
}
