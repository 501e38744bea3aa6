using System.Buffers.Binary;

namespace HyperSharp.Vhdx.CrashWriter;

/// <summary>One operation of the workload: a write of pattern data of generation <see cref="Generation"/>, or an unmap.</summary>
public readonly record struct CrashOp(long Index, bool IsUnmap, long Offset, int Length, long Generation);

/// <summary>
/// The deterministic workload the writer runs and the test regenerates: from (seed, geometry) the
/// n-th operation is always the same, so the test knows every write up to the last one the writer
/// may have issued. Sector content is a pure function of (sector index, generation), so any sector
/// read back can be decoded to the generation it holds (0 = zeros) or recognised as garbage.
/// </summary>
public sealed class CrashWorkload(ulong seed, long capacity, int sectorSize, int blockSize, long generationBase, int unmapPercent)
{
    private ulong _state = seed * 0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E019UL;
    private long _index;

    public long Capacity => capacity;
    public int SectorSize => sectorSize;

    private ulong NextRandom()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private long Below(long n) => (long)(NextRandom() % (ulong)n);

    /// <summary>The next operation (indices start at 1).</summary>
    public CrashOp Next()
    {
        long index = ++_index;
        long blocks = capacity / blockSize;
        long block = Below(blocks);
        if (Below(100) < unmapPercent)
        {
            // Whole blocks, so a dynamic disk deallocates and must allocate again later.
            int count = (int)Math.Min(1 + Below(2), blocks - block);
            return new CrashOp(index, true, block * blockSize, count * blockSize, 0);
        }
        int sectorsPerBlock = blockSize / sectorSize;
        long sectorInBlock = Below(sectorsPerBlock);
        int sectors = (int)(1 + Below(Math.Max(1, 262144 / sectorSize)));    // up to 256 KiB
        long offset = block * blockSize + sectorInBlock * sectorSize;
        long length = Math.Min((long)sectors * sectorSize, capacity - offset); // may cross into the next block
        return new CrashOp(index, false, offset, (int)length, generationBase + index);
    }

    private static ulong Mix(ulong x)
    {
        x = (x ^ (x >> 33)) * 0xFF51AFD7ED558CCDUL;
        x = (x ^ (x >> 33)) * 0xC4CEB9FE1A85EC53UL;
        return x ^ (x >> 33);
    }

    /// <summary>Fills one sector with the content of generation <paramref name="generation"/> (0 = zeros).</summary>
    public static void FillSector(Span<byte> sector, long sectorIndex, long generation)
    {
        if (generation == 0) { sector.Clear(); return; }
        BinaryPrimitives.WriteInt64LittleEndian(sector, sectorIndex ^ 0x5EC7_0000_0000_0000L);
        BinaryPrimitives.WriteInt64LittleEndian(sector[8..], generation);
        ulong h = Mix((ulong)sectorIndex * 0x100000001B3UL ^ (ulong)generation);
        for (int i = 16; i < sector.Length; i += 8)
        {
            h = Mix(h + (ulong)i);
            BinaryPrimitives.WriteUInt64LittleEndian(sector[i..], h);
        }
    }

    /// <summary>Fills a run of whole sectors starting at byte <paramref name="offset"/>.</summary>
    public static void Fill(Span<byte> buffer, long offset, int sectorSize, long generation)
    {
        for (int i = 0; i < buffer.Length; i += sectorSize)
            FillSector(buffer.Slice(i, sectorSize), (offset + i) / sectorSize, generation);
    }

    /// <summary>The generation a sector holds: 0 for zeros, -1 when it is neither zeros nor any generation's pattern.</summary>
    public static long Decode(ReadOnlySpan<byte> sector, long sectorIndex, Span<byte> scratch)
    {
        long g = BinaryPrimitives.ReadInt64LittleEndian(sector[8..]);
        if (g == 0 && BinaryPrimitives.ReadInt64LittleEndian(sector) == 0)
            return sector.IndexOfAnyExcept((byte)0) < 0 ? 0 : -1;
        if (g <= 0 || BinaryPrimitives.ReadInt64LittleEndian(sector) != (sectorIndex ^ 0x5EC7_0000_0000_0000L)) return -1;
        FillSector(scratch[..sector.Length], sectorIndex, g);
        return sector.SequenceEqual(scratch[..sector.Length]) ? g : -1;
    }
}
