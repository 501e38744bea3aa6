using System.Buffers.Binary;
using System.Text;

namespace HyperSharp.Machine.Firmware.FwCfg;

/// <summary>
/// What the firmware configuration interface offers the guest: items selected by a 16-bit key — the few fixed keys
/// the interface defines (signature, feature bits, the file directory, processor count) and named files, each given
/// the next key from 0x20 and listed in the directory. Whoever needs the firmware to see something adds a file.
/// </summary>
public sealed class FwCfgItems
{
    public const ushort SignatureKey = 0x00, IdKey = 0x01, ProcessorCountKey = 0x05, MaxProcessorsKey = 0x0F, FileDirectoryKey = 0x19;
    public const ushort FirstFileKey = 0x20;
    public const int MaxNameLength = 55; // the directory's name field is 56 bytes, NUL-terminated

    /// <summary>Feature bits of the ID item: the byte-wise data port, and the DMA interface.</summary>
    public const uint TraditionalInterface = 1, DmaInterface = 2;

    private const int DirectoryEntrySize = 64;
    private readonly Dictionary<ushort, byte[]> _items = new();
    private readonly SortedDictionary<string, ushort> _files = new(StringComparer.Ordinal);

    public FwCfgItems(int processors)
    {
        _items[SignatureKey] = "QEMU"u8.ToArray();
        _items[IdKey] = BitConverter.GetBytes(TraditionalInterface | DmaInterface);
        _items[ProcessorCountKey] = BitConverter.GetBytes((ushort)processors);
        _items[MaxProcessorsKey] = BitConverter.GetBytes((ushort)processors);
        _items[FileDirectoryKey] = Directory();
    }

    /// <summary>Adds a named file ("etc/e820", "bootorder"); returns its key. Names are unique ASCII of 1 to 55 bytes.</summary>
    public ushort AddFile(string name, byte[] data)
    {
        if (name.Length is 0 or > MaxNameLength || name.Any(c => c is < ' ' or > '~'))
            throw new ArgumentException($"fw_cfg file name \"{name}\": 1 to {MaxNameLength} printable ASCII characters", nameof(name));
        if (_files.ContainsKey(name)) throw new ArgumentException($"fw_cfg file \"{name}\" is already present", nameof(name));
        ushort key = (ushort)(FirstFileKey + _files.Count);
        if (key >= 0x4000) throw new InvalidOperationException($"fw_cfg file \"{name}\": the key space for files is full");
        _files.Add(name, key);
        _items[key] = data;
        _items[FileDirectoryKey] = Directory();
        return key;
    }

    /// <summary>The item a key selects; an unknown key selects an empty item (reads give zeros).</summary>
    public byte[] this[ushort key] => _items.TryGetValue(key, out var data) ? data : [];

    /// <summary>The key of a named file, or null.</summary>
    public ushort? KeyOf(string name) => _files.TryGetValue(name, out var key) ? key : null;

    /// <summary>Big-endian count, then per file: size (BE32), key (BE16), reserved, the NUL-padded name; sorted by name.</summary>
    private byte[] Directory()
    {
        var dir = new byte[4 + _files.Count * DirectoryEntrySize];
        BinaryPrimitives.WriteUInt32BigEndian(dir, (uint)_files.Count);
        int at = 4;
        foreach (var (name, key) in _files)
        {
            BinaryPrimitives.WriteUInt32BigEndian(dir.AsSpan(at), (uint)_items[key].Length);
            BinaryPrimitives.WriteUInt16BigEndian(dir.AsSpan(at + 4), key);
            Encoding.ASCII.GetBytes(name).CopyTo(dir, at + 8);
            at += DirectoryEntrySize;
        }
        return dir;
    }
}
