using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;

namespace HyperSharp.Vhdx.Vhd;

/// <summary>
/// The per-block sector bitmaps of a differencing VHD (bit set = the sector is in this file, clear =
/// read the parent), cached in memory once read. Bit 7 of byte 0 is the block's first sector.
/// Changes to one block's bitmap are serialized on that bitmap, never on the whole disk.
/// </summary>
internal sealed class VhdSectorBitmaps(SafeFileHandle handle, int bitmapBytes)
{
    private readonly ConcurrentDictionary<long, byte[]> _maps = new();

    /// <summary>The bitmap of an allocated block whose BAT entry is <paramref name="entry"/>.</summary>
    public byte[] Get(long block, uint entry)
    {
        if (_maps.TryGetValue(block, out var map)) return map;
        var loaded = new byte[bitmapBytes];
        VhdIo.ReadData(handle, loaded, (long)entry * 512);
        // Racing loaders read the same bytes; GetOrAdd makes them all use one instance.
        return _maps.GetOrAdd(block, loaded);
    }

    /// <summary>Registers the all-clear bitmap of a block just allocated.</summary>
    public void AddNew(long block) => _maps[block] = new byte[bitmapBytes];

    public void Forget(long block) => _maps.TryRemove(block, out _);

    public static bool IsSet(byte[] map, int sector) => (map[sector >> 3] & (0x80 >> (sector & 7))) != 0;

    /// <summary>Length of the run of sectors from <paramref name="sector"/> (below <paramref name="limit"/>) that share its bit.</summary>
    public static int Run(byte[] map, int sector, int limit, out bool set)
    {
        set = IsSet(map, sector);
        int s = sector + 1;
        while (s < limit && IsSet(map, s) == set) s++;
        return s - sector;
    }

    /// <summary>Sets or clears <paramref name="count"/> bits and writes the changed bytes; the data must already be written.</summary>
    public void Update(long block, uint entry, int firstSector, int count, bool value)
    {
        if (count == 0) return;
        byte[] map = Get(block, entry);
        lock (map)
        {
            for (int s = firstSector; s < firstSector + count; s++)
            {
                if (value) map[s >> 3] |= (byte)(0x80 >> (s & 7));
                else map[s >> 3] &= (byte)~(0x80 >> (s & 7));
            }
            int first = firstSector >> 3, last = (firstSector + count - 1) >> 3;
            // Written under the bitmap's lock so two writers never store stale copies out of order.
            RandomAccess.Write(handle, map.AsSpan(first, last - first + 1), (long)entry * 512 + first);
        }
    }
}
