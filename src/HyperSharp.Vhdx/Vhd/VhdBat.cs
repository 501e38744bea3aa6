using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace HyperSharp.Vhdx.Vhd;

/// <summary>
/// The block allocation table: per block, the file sector where the block (bitmap + data) starts,
/// or <see cref="Unallocated"/>. Reads are lock-free; changes happen under the disk's allocation
/// lock, file first, then memory, so a reader never sees an entry the file does not hold.
/// </summary>
internal sealed class VhdBat
{
    public const uint Unallocated = 0xFFFFFFFF;

    private uint[] _entries;

    private VhdBat(uint[] entries, long tableOffset)
    {
        _entries = entries;
        TableOffset = tableOffset;
    }

    public long TableOffset { get; private set; }

    public int MaxEntries => Volatile.Read(ref _entries).Length;

    /// <summary>Bytes the table occupies in the file (entries padded to whole sectors).</summary>
    public static long TableBytes(long entries) => (entries * 4 + 511) / 512 * 512;

    public uint this[long block]
    {
        get
        {
            uint[] e = Volatile.Read(ref _entries);
            return block < e.Length ? Volatile.Read(ref e[block]) : Unallocated;
        }
    }

    public static VhdBat CreateEmpty(long tableOffset, int entries)
    {
        var e = new uint[entries];
        Array.Fill(e, Unallocated);
        return new VhdBat(e, tableOffset);
    }

    /// <summary>The table as stored: big-endian entries, padded with unallocated entries to whole sectors.</summary>
    public byte[] ToBytes()
    {
        uint[] e = Volatile.Read(ref _entries);
        var b = new byte[TableBytes(e.Length)];
        b.AsSpan().Fill(0xFF);
        for (int i = 0; i < e.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(i * 4), e[i]);
        return b;
    }

    /// <summary>
    /// Reads and validates the table: every allocated block must lie wholly inside the file, outside
    /// the metadata (<paramref name="reserved"/> ranges), and not overlap another block.
    /// </summary>
    public static VhdBat Load(SafeFileHandle handle, string path, VhdDynamicHeader header, long fileLength,
        long blockBytes, IReadOnlyList<(long Start, long Length, string Name)> reserved)
    {
        int count = (int)header.MaxTableEntries;
        var raw = new byte[count * 4L];
        VhdIo.ReadExactly(handle, raw, header.TableOffset, path, "BAT");
        var entries = new uint[count];
        var starts = new List<(long Start, int Index)>();
        long dataEnd = fileLength - VhdFooter.Size;
        for (int i = 0; i < count; i++)
        {
            uint v = BinaryPrimitives.ReadUInt32BigEndian(raw.AsSpan(i * 4));
            entries[i] = v;
            if (v == Unallocated) continue;
            long start = (long)v * 512;
            long entryAt = header.TableOffset + i * 4L;
            if (start + blockBytes > dataEnd)
                throw new CorruptImageException(path, $"BAT entry {i}", entryAt, $"block at file offset {start} of {blockBytes} bytes runs past the end of the data (file is {fileLength} bytes)");
            foreach (var (rs, rl, name) in reserved)
            {
                if (start < rs + rl && start + blockBytes > rs)
                    throw new CorruptImageException(path, $"BAT entry {i}", entryAt, $"block at file offset {start} overlaps the {name} at {rs}");
            }
            starts.Add((start, i));
        }
        // Two entries sharing space would make writes to one block show up in another.
        starts.Sort((a, b) => a.Start.CompareTo(b.Start));
        for (int k = 1; k < starts.Count; k++)
        {
            if (starts[k].Start - starts[k - 1].Start < blockBytes)
                throw new CorruptImageException(path, $"BAT entry {starts[k].Index}", header.TableOffset + starts[k].Index * 4L,
                    $"block at file offset {starts[k].Start} overlaps the block of BAT entry {starts[k - 1].Index}");
        }
        return new VhdBat(entries, header.TableOffset);
    }

    /// <summary>Stores one entry: file first, then memory. Caller holds the allocation lock.</summary>
    public void Set(SafeFileHandle handle, long block, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        RandomAccess.Write(handle, b, TableOffset + block * 4);
        Volatile.Write(ref _entries[block], value);
    }

    /// <summary>
    /// Moves the table to <paramref name="newOffset"/> with <paramref name="newEntries"/> entries
    /// (the file write is the caller's: <see cref="ToBytes"/> after this). Caller holds the allocation lock.
    /// </summary>
    public void Grow(long newOffset, int newEntries)
    {
        var e = new uint[newEntries];
        Array.Fill(e, Unallocated);
        _entries.CopyTo(e, 0);
        TableOffset = newOffset;
        Volatile.Write(ref _entries, e);
    }
}
