using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// The metadata a VHDX keeps in memory while it is open: the BAT, the sector-bitmap pages read so far, and which
/// metadata sectors changed since the last commit (BAT pages, bitmap pages, sectors of the metadata region and the
/// region tables). Readers see the BAT and bitmaps without a lock; changes are made under <see cref="Lock"/> and
/// leave through <see cref="TakeDirtyPages"/> into the log (<see cref="VhdxLog"/>).
/// </summary>
internal sealed class MetadataCache
{
    private readonly VhdxStorage _storage;
    private readonly RegionEntry _metadataRegion;
    private readonly ConcurrentDictionary<long, byte[]> _bitmapPages = new();
    private readonly HashSet<long> _dirtyBatPages = new();
    private readonly HashSet<long> _dirtyBitmapPages = new();
    private readonly Dictionary<long, byte[]> _dirtyRawPages = new();
    private ulong[] _bat;
    private RegionEntry _batRegion;

    public MetadataCache(VhdxStorage storage, VhdxImage image, ulong[] bat)
    {
        _storage = storage;
        _metadataRegion = image.MetadataRegion;
        _batRegion = image.BatRegion;
        _bat = bat;
    }

    /// <summary>The metadata lock: block allocation, bitmap updates and every other metadata change take it.</summary>
    public object Lock { get; } = new();

    /// <summary>The BAT as it stands: entries are read with Volatile.Read, written under <see cref="Lock"/> with Volatile.Write.</summary>
    public ulong[] Bat => Volatile.Read(ref _bat);

    /// <summary>Whether any bitmap page has been read (compaction moves cached pages with their blocks).</summary>
    public bool HasBitmapPages => !_bitmapPages.IsEmpty;

    /// <summary>Reads the BAT region of an image.</summary>
    public static ulong[] LoadBat(VhdxStorage storage, VhdxImage image)
    {
        var bat = new ulong[image.BatRegion.Length / 8];
        storage.ReadMetadata(image.BatRegion.FileOffset, MemoryMarshal.AsBytes(bat.AsSpan()));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("VHDX support needs a little-endian host");
        return bat;
    }

    /// <summary>Marks the BAT sector holding entry <paramref name="index"/> for the next commit. Caller holds the lock.</summary>
    public void MarkBatDirty(long index) => _dirtyBatPages.Add(index * 8 / VhdxFormat.LogSectorSize);

    /// <summary>Publishes a BAT entry and marks it for the next commit. Caller holds the lock.</summary>
    public void SetBatEntry(long index, ulong entry)
    {
        Volatile.Write(ref _bat[index], entry);
        MarkBatDirty(index);
    }

    /// <summary>Switches to a relocated BAT (its region tables go through the log as raw pages). Caller holds the lock.</summary>
    public void ReplaceBat(ulong[] bat, RegionEntry region)
    {
        _batRegion = region;
        Volatile.Write(ref _bat, bat);
    }

    /// <summary>Caches the pages of a new bitmap block, which reads as zeros. Caller holds the lock.</summary>
    public void AddZeroBitmapBlock(long fileOffset)
    {
        for (long p = 0; p < VhdxFormat.SectorBitmapBlockSize; p += VhdxFormat.LogSectorSize)
            _bitmapPages[fileOffset + p] = new byte[VhdxFormat.LogSectorSize];
    }

    public bool GetBitmapBit(VhdxGeometry g, long block, int sectorInBlock)
    {
        var (page, bit) = BitmapLocation(g, block, sectorInBlock);
        return (Volatile.Read(ref BitmapPage(page)[bit >> 3]) & (1 << (bit & 7))) != 0;
    }

    public void SetBitmapBits(VhdxGeometry g, long block, int firstSector, int count, bool value)
    {
        lock (Lock)
        {
            for (int i = 0; i < count;)
            {
                var (pageOffset, bit) = BitmapLocation(g, block, firstSector + i);
                var page = BitmapPage(pageOffset);
                int inPage = Math.Min(count - i, VhdxFormat.LogSectorSize * 8 - bit);
                for (int b = bit; b < bit + inPage; b++)
                {
                    if (value) page[b >> 3] |= (byte)(1 << (b & 7));
                    else page[b >> 3] &= (byte)~(1 << (b & 7));
                }
                _dirtyBitmapPages.Add(pageOffset);
                i += inPage;
            }
        }
    }

    /// <summary>Moves cached bitmap pages along with a block compaction moved. Caller holds the lock.</summary>
    public void MoveBitmapPages(long from, long to, long size)
    {
        for (long p = 0; p < size; p += VhdxFormat.LogSectorSize)
            if (_bitmapPages.TryRemove(from + p, out var page)) _bitmapPages[to + p] = page;
    }

    /// <summary>Replaces bytes inside the metadata region (through the log at the next commit). Caller holds the lock.</summary>
    public void WriteMetadataBytes(long regionOffset, ReadOnlySpan<byte> bytes)
    {
        long fileOffset = _metadataRegion.FileOffset + regionOffset;
        for (long page = fileOffset / VhdxFormat.LogSectorSize * VhdxFormat.LogSectorSize; page < fileOffset + bytes.Length; page += VhdxFormat.LogSectorSize)
        {
            if (!_dirtyRawPages.TryGetValue(page, out var data))
            {
                data = new byte[VhdxFormat.LogSectorSize];
                _storage.ReadMetadata(page, data);
                _dirtyRawPages[page] = data;
            }
            long from = Math.Max(page, fileOffset), to = Math.Min(page + VhdxFormat.LogSectorSize, fileOffset + bytes.Length);
            bytes.Slice((int)(from - fileOffset), (int)(to - from)).CopyTo(data.AsSpan((int)(from - page)));
        }
    }

    /// <summary>Replaces a whole sector outside the BAT and bitmaps (a region table's). Caller holds the lock.</summary>
    public void WriteRawPage(long fileOffset, byte[] data) => _dirtyRawPages[fileOffset] = data;

    /// <summary>Copies every dirty metadata sector (BAT, sector bitmaps, other metadata) and clears the dirty sets.</summary>
    public List<LogPage> TakeDirtyPages()
    {
        var pages = new List<LogPage>();
        lock (Lock)
        {
            var batBytes = MemoryMarshal.AsBytes(_bat.AsSpan());
            foreach (long page in _dirtyBatPages.Order())
            {
                var data = new byte[VhdxFormat.LogSectorSize];
                batBytes.Slice((int)(page * VhdxFormat.LogSectorSize), VhdxFormat.LogSectorSize).CopyTo(data);
                pages.Add(new LogPage(_batRegion.FileOffset + page * VhdxFormat.LogSectorSize, data));
            }
            foreach (long offset in _dirtyBitmapPages.Order())
                pages.Add(new LogPage(offset, (byte[])_bitmapPages[offset].Clone()));
            foreach (var (offset, data) in _dirtyRawPages.OrderBy(p => p.Key))
                pages.Add(new LogPage(offset, data));
            _dirtyBatPages.Clear();
            _dirtyBitmapPages.Clear();
            _dirtyRawPages.Clear();
        }
        return pages;
    }

    /// <summary>Marks pages dirty again after a commit of them failed.</summary>
    public void RestoreDirtyPages(List<LogPage> pages)
    {
        lock (Lock)
        {
            long batStart = _batRegion.FileOffset, batEnd = batStart + _batRegion.Length;
            foreach (var p in pages)
            {
                if (p.FileOffset >= batStart && p.FileOffset < batEnd) _dirtyBatPages.Add((p.FileOffset - batStart) / VhdxFormat.LogSectorSize);
                else if (_bitmapPages.ContainsKey(p.FileOffset)) _dirtyBitmapPages.Add(p.FileOffset);
                else _dirtyRawPages.TryAdd(p.FileOffset, p.Data);
            }
        }
    }

    /// <summary>File offset of the 4 KiB bitmap page and the bit index inside it for one sector of a block.</summary>
    private (long PageOffset, int Bit) BitmapLocation(VhdxGeometry g, long block, int sectorInBlock)
    {
        long chunk = block / g.ChunkRatio;
        long bit = (block % g.ChunkRatio) * g.SectorsPerBlock + sectorInBlock;
        long bitmapOffset = BatEntry.FileOffset(Volatile.Read(ref Bat[g.BitmapIndex(chunk)]));
        const long bitsPerPage = VhdxFormat.LogSectorSize * 8;
        return (bitmapOffset + bit / bitsPerPage * VhdxFormat.LogSectorSize, (int)(bit % bitsPerPage));
    }

    private byte[] BitmapPage(long pageOffset)
    {
        if (_bitmapPages.TryGetValue(pageOffset, out var page)) return page;
        var loaded = new byte[VhdxFormat.LogSectorSize];
        _storage.ReadMetadata(pageOffset, loaded);
        return _bitmapPages.GetOrAdd(pageOffset, loaded);
    }
}
