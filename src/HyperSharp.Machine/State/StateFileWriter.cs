using System.Buffers.Binary;
using System.Text;
using HyperSharp.Hypervisor;
using HyperSharp.Hypervisor.State;
using HyperSharp.Machine.Memory;
using HyperSharp.Vhdx.Vhdx;
using static HyperSharp.Machine.State.StateFileFormat;

namespace HyperSharp.Machine.State;

/// <summary>Writes a saved-state file of the current format (see <see cref="StateFileFormat"/>) to a stream.</summary>
internal sealed class StateFileWriter(Stream file)
{
    private readonly byte[] _head = new byte[RecordHeaderSize];
    private readonly byte[] _address = new byte[8];
    private uint _records;
    private ulong _pages;

    /// <summary>The state and, unless <paramref name="memory"/> is null (a migration sends memory apart), the memory.</summary>
    public void Write(VmSavedState state, GuestMemory? memory)
    {
        WriteFileHeader();
        var machine = new StateWriter();
        machine.String(state.Backend);
        state.Config.Write(machine);
        Record(Kind.Machine, VmSavedState.MachineRecordVersion, "", machine.WrittenSpan);
        Record(Kind.Platform, state.Platform.Version, "", state.Platform.Data);
        for (int i = 0; i < state.Processors.Length; i++)
            Record(Kind.Processor, state.Processors[i].Version, i.ToString(System.Globalization.CultureInfo.InvariantCulture), state.Processors[i].Data);
        foreach (var (id, record) in state.Devices) Record(Kind.Device, record.Version, id, record.Data);
        if (memory is not null) WriteMemory(memory);
        Span<byte> end = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(end, _records);
        BinaryPrimitives.WriteUInt64LittleEndian(end[4..], _pages);
        Record(Kind.End, 1, "", end);
    }

    private void WriteFileHeader()
    {
        var body = new StateWriter();
        body.String(ThisBuild);
        var header = new byte[16 + body.Length + 4];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), CurrentFormat);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), (uint)body.Length);
        body.WrittenSpan.CopyTo(header.AsSpan(16));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16 + body.Length), Crc32C.Compute(header.AsSpan(0, 16 + body.Length)));
        file.Write(header);
    }

    private void Record(Kind kind, ushort version, string key, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxRecordPayload) throw new InvalidOperationException($"the {kind} record {key} is {payload.Length} bytes, more than a record holds");
        Span<byte> keyBytes = stackalloc byte[Encoding.UTF8.GetByteCount(key)];
        Encoding.UTF8.GetBytes(key, keyBytes);
        WriteRecord(kind, version, keyBytes, payload, []);
    }

    /// <summary>The header, then the key and the payload in up to two parts (a chunk's address and its pages, written from guest memory directly).</summary>
    private void WriteRecord(Kind kind, ushort version, ReadOnlySpan<byte> key, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> more)
    {
        new RecordHeader(kind, version, key.Length, payload.Length + more.Length, 0).Write(_head);
        uint crc = Crc32C.Append(Crc32C.Append(Crc32C.Append(Crc32C.Compute(_head.AsSpan(0, 12)), key), payload), more);
        BinaryPrimitives.WriteUInt32LittleEndian(_head.AsSpan(12), crc);
        file.Write(_head);
        file.Write(key);
        file.Write(payload);
        file.Write(more);
        _records++;
    }

    /// <summary>Runs of touched pages that are not all zero, at most 1 MiB per chunk, each its own record.</summary>
    private void WriteMemory(GuestMemory memory)
    {
        ulong runStart = 0;
        int runPages = 0;
        foreach (ulong offset in ResidentPages.Of(memory))
        {
            if (!memory.GetSpan(offset, Page).ContainsAnyExcept((byte)0)) continue; // zero pages need no saving
            if (runPages > 0 && (offset != runStart + (ulong)runPages * Page || runPages == MaxChunkPages)) Chunk(runStart, runPages);
            if (runPages == 0) runStart = offset;
            runPages++;
        }
        Chunk(runStart, runPages);

        void Chunk(ulong start, int pages)
        {
            if (pages == 0) return;
            BinaryPrimitives.WriteUInt64LittleEndian(_address, start);
            WriteRecord(Kind.Memory, 1, [], _address, memory.GetSpan(start, pages * Page));
            _pages += (ulong)pages;
            runPages = 0;
        }
    }
}
