using System.Buffers.Binary;
using System.Text;
using HyperSharp.Hypervisor;
using HyperSharp.Hypervisor.State;
using HyperSharp.Vhdx.Vhdx;
using static HyperSharp.Machine.State.StateFileFormat;

namespace HyperSharp.Machine.State;

/// <summary>
/// Reads a saved-state file of the current format (see <see cref="StateFileFormat"/>): the header, the state records
/// (each checked against its checksum before anything reads it), then the memory chunks straight into guest memory
/// (each checked after it landed there; a restore that fails never runs the guest). Every refusal names the file,
/// the record and its offset.
/// </summary>
internal sealed class StateFileReader
{
    private readonly Stream _file;
    private readonly string _path;
    private readonly byte[] _head = new byte[RecordHeaderSize];
    private RecordHeader _pending;
    private long _pendingOffset;
    private uint _records;
    private ulong _pages;

    private StateFileReader(Stream file, string path, string writer)
    {
        _file = file;
        _path = path;
        Writer = writer;
    }

    /// <summary>The HyperSharp build that wrote the file.</summary>
    public string Writer { get; }

    /// <summary>Where each state record starts, by the name errors use for it.</summary>
    public Dictionary<string, long> Offsets { get; } = new(StringComparer.Ordinal);

    /// <summary>Reads the header (the magic was read already) and every state record up to the memory.</summary>
    public static (StateFileReader Reader, VmSavedState State) Open(Stream file, string path, uint format)
    {
        var writer = ReadWriter(file, path, format);
        var reader = new StateFileReader(file, path, writer);
        return (reader, reader.ReadStateRecords());
    }

    private static string ReadWriter(Stream file, string path, uint format)
    {
        Span<byte> fixedPart = stackalloc byte[16];
        Magic.CopyTo(fixedPart);
        BinaryPrimitives.WriteUInt32LittleEndian(fixedPart[8..], format);
        ReadExactly(file, path, fixedPart[12..], "the file header");
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart[12..]);
        if (length > MaxHeaderBody)
            throw new SavedStateException(path, "file header", 0, $"its length {length} is not plausible (damaged)");
        var header = new byte[16 + length + 4];
        fixedPart.CopyTo(header);
        ReadExactly(file, path, header.AsSpan(16), "the file header");
        var body = new StateReader(header.AsSpan(16, (int)length), "file header");
        string writer;
        try { writer = body.String(); }
        catch (StateRecordException e) { throw new SavedStateException(path, "file header", 0, e.Problem, e); }
        if (format > CurrentFormat)
            throw new SavedStateException(path, $"saved by HyperSharp {writer} (file format {format}); this is HyperSharp {ThisBuild}, which reads file formats up to {CurrentFormat}");
        if (BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(16 + (int)length)) != Crc32C.Compute(header.AsSpan(0, 16 + (int)length)))
            throw new SavedStateException(path, "file header", 0, "fails its checksum: the file is damaged");
        return writer;
    }

    private VmSavedState ReadStateRecords()
    {
        string? backend = null;
        SavedVmConfig? config = null;
        SavedRecord? platform = null;
        var processors = new List<SavedRecord>();
        var devices = new List<(string, SavedRecord)>();
        while (true)
        {
            NextHeader();
            if (_pending.Kind is Kind.Memory or Kind.End) break;
            var (key, keyBytes) = ReadKey();
            string name = Describe(_pending.Kind, key);
            byte[] payload = new byte[_pending.PayloadLength];
            ReadExactly(_file, _path, payload, name);
            Verify(name, keyBytes, payload, []);
            Offsets[name] = _pendingOffset;
            var record = new SavedRecord(_pending.Version, payload);
            switch (_pending.Kind)
            {
                case Kind.Machine:
                    (backend, config) = ReadMachine(record, name);
                    break;
                case Kind.Platform:
                    platform = record;
                    break;
                case Kind.Processor:
                    if (key != processors.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))
                        throw Damaged(name, $"processor records are out of order (expected processor {processors.Count})");
                    processors.Add(record);
                    break;
                case Kind.Device:
                    devices.Add((key, record));
                    break;
            }
            if (backend is null) throw Damaged(name, "the first record must be the machine record");
        }
        if (backend is null || config is null) throw Damaged("end of the state records", "the file holds no machine record");
        return new VmSavedState(backend, config, platform ?? throw Damaged(VmSavedState.PlatformRecordName, "the file holds no platform record"),
            [.. processors], devices);
    }

    private (string Backend, SavedVmConfig Config) ReadMachine(SavedRecord record, string name)
    {
        if (record.Version > VmSavedState.MachineRecordVersion)
            throw new SavedStateException(_path, name, _pendingOffset,
                $"saved by HyperSharp {Writer} (record {name} version {record.Version}); this is HyperSharp {ThisBuild}, which reads up to {VmSavedState.MachineRecordVersion}");
        try
        {
            var r = new StateReader(record.Data, name);
            var machine = (r.String(), SavedVmConfig.Read(ref r, record.Version));
            r.End();
            return machine;
        }
        catch (StateRecordException e) { throw new SavedStateException(_path, name, _pendingOffset, e.Problem, e); }
    }

    /// <summary>Reads the memory chunks into <paramref name="memory"/> (which starts zeroed), then the end record.</summary>
    public void ReadMemory(GuestMemory memory)
    {
        Span<byte> address = stackalloc byte[8];
        while (_pending.Kind == Kind.Memory)
        {
            string name = $"memory chunk {_pages / MaxChunkPages}";
            if (_pending.Version != 1)
                throw new SavedStateException(_path, name, _pendingOffset, $"saved by HyperSharp {Writer} (memory chunk version {_pending.Version}); this is HyperSharp {ThisBuild}, which reads up to 1");
            int pageBytes = _pending.PayloadLength - 8;
            if (_pending.KeyLength != 0 || pageBytes <= 0 || pageBytes % Page != 0 || pageBytes > MaxChunkPages * Page)
                throw Damaged(name, $"a chunk of {_pending.PayloadLength} bytes is not an address and 1 to {MaxChunkPages} pages");
            ReadExactly(_file, _path, address, name);
            ulong start = BinaryPrimitives.ReadUInt64LittleEndian(address);
            name = $"memory chunk at guest address 0x{start:X}";
            if (start % Page != 0 || !memory.Contains(start, (ulong)pageBytes))
                throw Damaged(name, $"its {pageBytes / Page} pages lie outside the guest's {memory.Size >> 20} MiB of memory");
            var target = memory.GetSpan(start, pageBytes);
            ReadExactly(_file, _path, target, name);
            Verify(name, [], address, target);
            _pages += (ulong)(pageBytes / Page);
            NextHeader();
        }
        if (_pending.Kind != Kind.End) throw Damaged(Describe(_pending.Kind, ""), "a state record after the memory chunks");
        ReadEnd();
    }

    private void ReadEnd()
    {
        const string name = "end record";
        if (_pending.KeyLength != 0 || _pending.PayloadLength != 12) throw Damaged(name, $"{_pending.PayloadLength} bytes, not 12");
        Span<byte> end = stackalloc byte[12];
        ReadExactly(_file, _path, end, name);
        Verify(name, [], end, []);
        uint records = BinaryPrimitives.ReadUInt32LittleEndian(end);
        ulong pages = BinaryPrimitives.ReadUInt64LittleEndian(end[4..]);
        if (records != _records || pages != _pages)
            throw Damaged(name, $"the writer wrote {records} records and {pages} pages, the file holds {_records} and {_pages} (records are missing)");
        if (_file.ReadByte() >= 0) throw Damaged(name, "bytes follow the end record");
    }

    private void NextHeader()
    {
        _pendingOffset = _file.Position;
        ReadExactly(_file, _path, _head, $"the record header at 0x{_pendingOffset:X}");
        _pending = RecordHeader.Parse(_head);
        string what = $"record header ({_pending.Kind})";
        if (!Enum.IsDefined(_pending.Kind)) throw Damaged(what, $"record kind {(ushort)_pending.Kind} is unknown (damaged)");
        if (_pending.KeyLength > MaxKeyLength) throw Damaged(what, $"a key of {_pending.KeyLength} bytes is not plausible (damaged)");
        int limit = _pending.Kind == Kind.Memory ? MaxChunkPayload : MaxRecordPayload;
        if (_pending.PayloadLength > limit) throw Damaged(what, $"a payload of {_pending.PayloadLength} bytes is more than a {_pending.Kind} record holds (damaged)");
        if (_pending.Kind != Kind.End) _records++;
    }

    private (string Key, byte[] Bytes) ReadKey()
    {
        var key = new byte[_pending.KeyLength];
        ReadExactly(_file, _path, key, $"the key of the record at 0x{_pendingOffset:X}");
        return (Encoding.UTF8.GetString(key), key);
    }

    /// <summary>Checks the record's checksum over its header, key and payload (given in two parts).</summary>
    private void Verify(string name, ReadOnlySpan<byte> key, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> more)
    {
        uint crc = Crc32C.Append(Crc32C.Append(Crc32C.Append(Crc32C.Compute(_head.AsSpan(0, 12)), key), payload), more);
        if (crc != _pending.Checksum) throw Damaged(name, "fails its checksum: the file is damaged");
    }

    private SavedStateException Damaged(string name, string problem) => new(_path, name, _pendingOffset, problem);

    private static string Describe(Kind kind, string key) => kind switch
    {
        Kind.Machine => VmSavedState.MachineRecordName,
        Kind.Platform => VmSavedState.PlatformRecordName,
        Kind.Processor => VmSavedState.ProcessorRecordName(int.TryParse(key, out int i) ? i : -1),
        Kind.Device => DeviceStateRegistry.RecordName(key),
        _ => $"{kind.ToString().ToLowerInvariant()} record",
    };

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes; a short file is refused naming where it ends.</summary>
    internal static void ReadExactly(Stream file, string path, Span<byte> buffer, string what)
    {
        long at = file.Position;
        int done = file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (done < buffer.Length)
            throw new SavedStateException(path, $"the file ends at byte {at + done}, inside {what} ({buffer.Length - done} bytes missing): it was truncated");
    }
}
