using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// A VHDX image (fixed, dynamic or differencing) open for I/O. Data I/O is positional and lock
/// free; block allocation, sector-bitmap updates and metadata commits take one metadata lock;
/// every metadata change reaches the file through the write-ahead log (MS-VHDX 2.3).
/// </summary>
public sealed partial class VhdxDisk : IVirtualDisk
{
    private readonly VhdxStorage _storage;
    private readonly object _metaLock = new();
    private readonly object _flushLock = new();
    private VhdxImage _image;
    private ulong[] _bat;
    private VhdxGeometry _geometry;
    private long _fileEnd; // next 1 MiB-aligned allocation offset
    private readonly ConcurrentDictionary<long, byte[]> _bitmapPages = new();
    private readonly HashSet<long> _dirtyBatPages = new();
    private readonly HashSet<long> _dirtyBitmapPages = new();
    private readonly Dictionary<long, byte[]> _dirtyRawPages = new();
    private bool _disposed;

    private VhdxDisk(VhdxStorage storage, VhdxImage image, ulong[] bat, IVirtualDisk? parent)
    {
        _storage = storage;
        _image = image;
        _bat = bat;
        _geometry = image.Geometry;
        Parent = parent;
        _headers = new HeaderWriter(storage, image.Header, image.HeaderSlot);
        _fileEnd = ComputeFileEnd(image, bat, storage.Length);
        _durableFileSize = storage.Length / VhdxFormat.MiB * VhdxFormat.MiB;
    }

    public string Path => _storage.Path;
    public DiskFormat Format => DiskFormat.Vhdx;
    public DiskType Type => _image.Type;
    public long Capacity => Volatile.Read(ref _geometry).VirtualSize;
    public int LogicalSectorSize => _geometry.LogicalSectorSize;
    public int PhysicalSectorSize => _image.PhysicalSectorSize;
    public bool IsReadOnly => _storage.ReadOnly;
    public IVirtualDisk? Parent { get; }
    public event Action<IVirtualDisk>? CapacityChanged;

    /// <summary>Payload block size in bytes.</summary>
    public int BlockSize => _geometry.BlockSize;

    /// <summary>The identity Hyper-V calls DiskIdentifier (Virtual Disk ID metadata item).</summary>
    public Guid VirtualDiskId => _image.VirtualDiskId;

    /// <summary>Changes whenever user-visible data changes; a child's parent_linkage names it.</summary>
    public Guid DataWriteGuid => _headers.Current.DataWriteGuid;

    public Guid FileWriteGuid => _headers.Current.FileWriteGuid;

    /// <summary>True when the image was opened with a log that had to be replayed.</summary>
    public bool ReplayedLog { get; private set; }

    /// <summary>Path of the parent named by the locator that resolved, for a differencing disk opened with its parent.</summary>
    public string? ParentPath { get; private set; }

    /// <summary>The parent locator's key/value pairs (empty for a disk without a parent).</summary>
    public IReadOnlyDictionary<string, string> ParentLocatorEntries =>
        _image.ParentLocator?.Entries ?? new Dictionary<string, string>();

    /// <summary>Bytes of the file in use by payload and bitmap blocks.</summary>
    public long AllocatedBytes
    {
        get
        {
            var g = _geometry; long total = 0;
            var bat = _bat;
            for (long b = 0; b < g.PayloadBlocks; b++)
                if (BatEntry.HasData(BatEntry.State(bat[g.PayloadIndex(b)]))) total += g.BlockSize;
            return total;
        }
    }

    private static long ComputeFileEnd(VhdxImage image, ulong[] bat, long fileLength)
    {
        long end = VhdxFormat.RoundUp(fileLength, VhdxFormat.MiB);
        end = Math.Max(end, (long)image.Header.LogOffset + image.Header.LogLength);
        foreach (var r in image.Regions) end = Math.Max(end, r.FileOffset + r.Length);
        var g = image.Geometry;
        for (long i = 0; i < g.TotalBatEntries; i++)
        {
            ulong e = bat[i];
            var s = BatEntry.State(e);
            if (BatEntry.HasData(s) || (s == BlockState.Unmapped && BatEntry.FileOffset(e) != 0))
            {
                bool isBitmap = (i + 1) % (g.ChunkRatio + 1) == 0;
                end = Math.Max(end, BatEntry.FileOffset(e) + (isBitmap ? VhdxFormat.SectorBitmapBlockSize : g.BlockSize));
            }
        }
        return end;
    }

    public void Dispose()
    {
        if (_disposed) return;
        try
        {
            if (!IsReadOnly && _sessionWrote) CloseCleanly();
        }
        finally
        {
            _disposed = true;
            _storage.Dispose();
            Parent?.Dispose();
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private static ulong[] LoadBat(VhdxStorage storage, VhdxImage image)
    {
        var bat = new ulong[image.BatRegion.Length / 8];
        storage.ReadMetadata(image.BatRegion.FileOffset, MemoryMarshal.AsBytes(bat.AsSpan()));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("VHDX support needs a little-endian host");
        return bat;
    }
}
