namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// A VHDX image (fixed, dynamic or differencing) open for I/O. Data I/O is positional and lock
/// free; block allocation, sector-bitmap updates and metadata changes take the metadata lock of the
/// <see cref="MetadataCache"/>; every metadata change reaches the file through the write-ahead log
/// (<see cref="VhdxLog"/>, MS-VHDX 2.3). Opening is <see cref="VhdxOpener"/>'s job, resizing
/// <see cref="VhdxResize"/>'s and compaction <see cref="VhdxCompaction"/>'s.
/// </summary>
public sealed class VhdxDisk : IVirtualDisk
{
    private readonly VhdxStorage _storage;
    private readonly MetadataCache _cache;
    private readonly VhdxLog _log;
    private VhdxImage _image;
    private VhdxGeometry _geometry;
    private long _fileEnd; // next 1 MiB-aligned allocation offset
    private bool _disposed;
    // Delegates made once: a method group converted per call would allocate on every I/O.
    private SectorAlignedIo.AlignedRead? _readAligned;
    private SectorAlignedIo.AlignedWrite? _writeAligned;

    internal VhdxDisk(VhdxStorage storage, VhdxImage image, ulong[] bat, IVirtualDisk? parent, bool replayedLog, string? parentPath)
    {
        _storage = storage;
        _image = image;
        _geometry = image.Geometry;
        _cache = new MetadataCache(storage, image, bat);
        _log = new VhdxLog(storage, new HeaderWriter(storage, image.Header, image.HeaderSlot), storage.Length / VhdxFormat.MiB * VhdxFormat.MiB);
        Parent = parent;
        ReplayedLog = replayedLog;
        ParentPath = parentPath;
        _fileEnd = ComputeFileEnd(image, bat, storage.Length);
    }

    /// <summary>Opens an image; replays a pending log (in memory when read-only); opens the parent chain of a differencing disk.</summary>
    public static VhdxDisk Open(string path, DiskOpenOptions? options = null) =>
        VhdxOpener.Open(path, options ?? DiskOpenOptions.Default, new HashSet<string>(StringComparer.Ordinal));

    internal static VhdxDisk OpenForChain(string path, DiskOpenOptions options, HashSet<string> chain) => VhdxOpener.Open(path, options, chain);

    /// <summary>Creates a fixed, dynamic or differencing VHDX and opens it for writing.</summary>
    public static VhdxDisk Create(string path, DiskCreateOptions options)
    {
        if (options.Format != DiskFormat.Vhdx) throw new ArgumentException($"format {options.Format} is not VHDX", nameof(options));
        VhdxCreator.Create(path, options);
        return Open(path);
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
    public Guid DataWriteGuid => _log.Headers.Current.DataWriteGuid;

    public Guid FileWriteGuid => _log.Headers.Current.FileWriteGuid;

    /// <summary>True when the image was opened with a log that had to be replayed.</summary>
    public bool ReplayedLog { get; }

    /// <summary>Path of the parent named by the locator that resolved, for a differencing disk opened with its parent.</summary>
    public string? ParentPath { get; }

    /// <summary>The parent locator's key/value pairs (empty for a disk without a parent).</summary>
    public IReadOnlyDictionary<string, string> ParentLocatorEntries =>
        _image.ParentLocator?.Entries ?? new Dictionary<string, string>();

    /// <summary>Bytes of the file in use by payload and bitmap blocks.</summary>
    public long AllocatedBytes
    {
        get
        {
            var g = _geometry; long total = 0;
            var bat = _cache.Bat;
            for (long b = 0; b < g.PayloadBlocks; b++)
                if (BatEntry.HasData(BatEntry.State(bat[g.PayloadIndex(b)]))) total += g.BlockSize;
            return total;
        }
    }

    // What resizing and compaction work on (VhdxResize, VhdxCompaction).
    internal VhdxStorage Storage => _storage;
    internal MetadataCache Cache => _cache;
    internal VhdxLog Log => _log;
    internal VhdxImage Image { get => _image; set => _image = value; }
    internal VhdxGeometry Geometry { get => Volatile.Read(ref _geometry); set => Volatile.Write(ref _geometry, value); }
    internal long FileEnd { get => _fileEnd; set => _fileEnd = value; }

    /// <summary>
    /// Grows or shrinks the virtual disk, also while I/O is in flight (online resize). Growing
    /// moves the BAT to the end of the file when it has no room; shrinking refuses to drop data
    /// unless <paramref name="allowDataLoss"/>. The size change is committed before it returns.
    /// </summary>
    public void Resize(long newCapacity, bool allowDataLoss = false)
    {
        ThrowIfDisposed();
        if (VhdxResize.Run(this, newCapacity, allowDataLoss)) CapacityChanged?.Invoke(this);
    }

    /// <summary>
    /// Optimize-VHD: releases blocks that hold only zeros, moves blocks from the end of the file
    /// into holes, and cuts the file. Every move is copied and flushed before the BAT points at it.
    /// Run it on a disk no VM is using (concurrent writes to a block being moved would be lost).
    /// </summary>
    public CompactResult Compact(IProgress<long>? progress = null)
    {
        ThrowIfDisposed();
        return VhdxCompaction.Run(this, progress);
    }

    public void Read(long offset, Span<byte> buffer)
    {
        ThrowIfDisposed();
        DiskRange.Check(this, offset, buffer.Length);
        if (SectorAlignedIo.IsAligned(offset, buffer.Length, _geometry.LogicalSectorSize)) ReadAligned(offset, buffer);
        else SectorAlignedIo.Read(offset, buffer, LogicalSectorSize, _readAligned ??= ReadAligned);
    }

    public void Write(long offset, ReadOnlySpan<byte> buffer)
    {
        ThrowIfDisposed();
        DiskRange.CheckWritable(this, offset, buffer.Length);
        if (buffer.IsEmpty) return;
        _log.EnsureModifiable(true);
        if (SectorAlignedIo.IsAligned(offset, buffer.Length, _geometry.LogicalSectorSize)) WriteAligned(offset, buffer);
        else SectorAlignedIo.Write(offset, buffer, LogicalSectorSize, _readAligned ??= ReadAligned, _writeAligned ??= WriteAligned);
    }

    internal void ReadAligned(long offset, Span<byte> buffer)
    {
        var g = Volatile.Read(ref _geometry);
        var bat = _cache.Bat;
        while (buffer.Length > 0)
        {
            long block = offset / g.BlockSize;
            int inBlock = (int)(offset % g.BlockSize);
            int n = Math.Min(buffer.Length, g.BlockSize - inBlock);
            ulong entry = Volatile.Read(ref bat[g.PayloadIndex(block)]);
            var chunk = buffer[..n];
            switch (BatEntry.State(entry))
            {
                case BlockState.FullyPresent:
                    _storage.ReadData(BatEntry.FileOffset(entry) + inBlock, chunk);
                    break;
                case BlockState.PartiallyPresent:
                    ReadPartialBlock(g, block, BatEntry.FileOffset(entry), offset, inBlock, chunk);
                    break;
                case BlockState.NotPresent when g.HasParent:
                    ReadParent(offset, chunk);
                    break;
                default: // not present in a dynamic disk, zero, unmapped, undefined: zeros
                    chunk.Clear();
                    break;
            }
            buffer = buffer[n..];
            offset += n;
        }
    }

    /// <summary>Reads a partially present block run by run: sectors whose bitmap bit is set come from this file, the rest from the parent.</summary>
    private void ReadPartialBlock(VhdxGeometry g, long block, long blockFileOffset, long offset, int inBlock, Span<byte> chunk)
    {
        int sector = g.LogicalSectorSize;
        int first = inBlock / sector, count = chunk.Length / sector;
        int i = 0;
        while (i < count)
        {
            bool present = _cache.GetBitmapBit(g, block, first + i);
            int run = 1;
            while (i + run < count && _cache.GetBitmapBit(g, block, first + i + run) == present) run++;
            var part = chunk.Slice(i * sector, run * sector);
            if (present) _storage.ReadData(blockFileOffset + (long)(first + i) * sector, part);
            else ReadParent(offset + (long)i * sector, part);
            i += run;
        }
    }

    private void ReadParent(long offset, Span<byte> buffer)
    {
        var parent = Parent;
        long parentCapacity = parent?.Capacity ?? 0;
        if (parent is null || offset >= parentCapacity) { buffer.Clear(); return; }
        int inParent = (int)Math.Min(buffer.Length, parentCapacity - offset);
        parent.Read(offset, buffer[..inParent]);
        buffer[inParent..].Clear(); // a child grown past its parent reads zeros there
    }

    private void WriteAligned(long offset, ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            var g = Volatile.Read(ref _geometry);
            long block = offset / g.BlockSize;
            int inBlock = (int)(offset % g.BlockSize);
            int n = Math.Min(data.Length, g.BlockSize - inBlock);
            var chunk = data[..n];
            ulong entry = Volatile.Read(ref _cache.Bat[g.PayloadIndex(block)]);
            var state = BatEntry.State(entry);
            if (!BatEntry.HasData(state)) entry = AllocateBlock(g, block, out state);
            _storage.Write(BatEntry.FileOffset(entry) + inBlock, chunk);
            if (state == BlockState.PartiallyPresent) _cache.SetBitmapBits(g, block, inBlock / g.LogicalSectorSize, n / g.LogicalSectorSize, true);
            data = data[n..];
            offset += n;
        }
    }

    /// <summary>
    /// Gives a block file space (at the end of the file, or its own punched space when it was
    /// unmapped) and publishes its BAT entry. Blocks that read as zeros become fully present over
    /// zero-filled space; a differencing block that reads from the parent becomes partially present.
    /// </summary>
    private ulong AllocateBlock(VhdxGeometry g, long block, out BlockState state)
    {
        lock (_cache.Lock)
        {
            var bat = _cache.Bat;
            long index = g.PayloadIndex(block);
            ulong entry = bat[index];
            state = BatEntry.State(entry);
            if (BatEntry.HasData(state)) return entry; // another thread allocated it first
            var newState = g.HasParent && state == BlockState.NotPresent ? BlockState.PartiallyPresent : BlockState.FullyPresent;
            if (newState == BlockState.PartiallyPresent) EnsureBitmapBlock(g, block / g.ChunkRatio);
            long fileOffset = BatEntry.FileOffset(entry);
            bool reuse = state == BlockState.Unmapped && fileOffset >= VhdxFormat.HeaderSectionSize
                && fileOffset + g.BlockSize <= _fileEnd && HostFile.PunchHole(_storage.Handle, fileOffset, g.BlockSize);
            if (!reuse) fileOffset = ReserveSpace(g.BlockSize);
            entry = BatEntry.Make(newState, fileOffset);
            _cache.SetBatEntry(index, entry);
            state = newState;
            return entry;
        }
    }

    /// <summary>Extends the file by <paramref name="size"/> bytes of zeros at the 1 MiB-aligned end. Caller holds the metadata lock.</summary>
    internal long ReserveSpace(long size)
    {
        long offset = _fileEnd;
        _fileEnd = offset + VhdxFormat.RoundUp(size, VhdxFormat.MiB);
        _storage.SetLength(_fileEnd);
        return offset;
    }

    /// <summary>Allocates the sector bitmap block of a chunk if it has none. Caller holds the metadata lock.</summary>
    private void EnsureBitmapBlock(VhdxGeometry g, long chunk)
    {
        long index = g.BitmapIndex(chunk);
        if (BatEntry.State(_cache.Bat[index]) == BlockState.FullyPresent) return;
        long offset = ReserveSpace(VhdxFormat.SectorBitmapBlockSize);
        _cache.AddZeroBitmapBlock(offset); // new space reads as zeros
        _cache.SetBatEntry(index, BatEntry.Make(BlockState.FullyPresent, offset));
    }

    /// <summary>
    /// Whole blocks change state (unmapped in a dynamic disk, with their space punched out; zero in
    /// a differencing disk); partial blocks are zeroed in place. A fixed disk keeps its allocation.
    /// </summary>
    public void Unmap(long offset, long length)
    {
        ThrowIfDisposed();
        DiskRange.CheckWritable(this, offset, length);
        if (length == 0) return;
        _log.EnsureModifiable(true);
        var g = Volatile.Read(ref _geometry);
        long end = offset + length;
        while (offset < end)
        {
            long block = offset / g.BlockSize;
            long blockStart = block * g.BlockSize;
            long blockEnd = Math.Min(blockStart + g.BlockSize, g.VirtualSize);
            long runEnd = Math.Min(end, blockEnd);
            if (offset == blockStart && runEnd == blockEnd && Type != DiskType.Fixed) UnmapWholeBlock(g, block);
            else ZeroPartOfBlock(g, block, offset, runEnd - offset);
            offset = runEnd;
        }
    }

    private void UnmapWholeBlock(VhdxGeometry g, long block)
    {
        lock (_cache.Lock)
        {
            long index = g.PayloadIndex(block);
            ulong entry = _cache.Bat[index];
            var state = BatEntry.State(entry);
            BlockState target = g.HasParent ? BlockState.Zero : BlockState.Unmapped;
            if (state == target || (!g.HasParent && state is BlockState.NotPresent or BlockState.Zero)) return;
            long fileOffset = BatEntry.FileOffset(entry);
            bool punched = BatEntry.HasData(state) && HostFile.PunchHole(_storage.Handle, fileOffset, g.BlockSize);
            // An unmapped block keeps its (now zero-filled) space for reuse; otherwise the offset is dropped.
            ulong newEntry = target == BlockState.Unmapped && punched ? BatEntry.Make(target, fileOffset) : BatEntry.Make(target, 0);
            _cache.SetBatEntry(index, newEntry);
        }
    }

    internal void ZeroPartOfBlock(VhdxGeometry g, long block, long offset, long length)
    {
        ulong entry = Volatile.Read(ref _cache.Bat[g.PayloadIndex(block)]);
        var state = BatEntry.State(entry);
        if (!g.HasParent && !BatEntry.HasData(state)) return; // already reads as zeros
        if (state == BlockState.Zero || state == BlockState.Unmapped) return;
        int sector = g.LogicalSectorSize;
        long alignedStart = VhdxFormat.RoundUp(offset, sector), alignedEnd = (offset + length) / sector * sector;
        if (state == BlockState.FullyPresent && alignedEnd > alignedStart)
        {
            // Zero the data in place: punch (or zero-range for fixed disks) the sector-aligned middle.
            long fileOffset = BatEntry.FileOffset(entry) + alignedStart - block * g.BlockSize;
            HostFile.Zero(_storage.Handle, fileOffset, alignedEnd - alignedStart, keepAllocated: Type == DiskType.Fixed);
            if (offset < alignedStart) WriteZeros(offset, alignedStart - offset);
            if (offset + length > alignedEnd) WriteZeros(Math.Max(alignedEnd, offset), offset + length - Math.Max(alignedEnd, offset));
            return;
        }
        WriteZeros(offset, length); // differencing: the zeros must hide the parent, so they are written (and marked present)
    }

    private void WriteZeros(long offset, long length)
    {
        var zeros = new byte[Math.Min(length, 1 << 20)];
        while (length > 0)
        {
            int n = (int)Math.Min(length, zeros.Length);
            SectorAlignedIo.Write(offset, zeros.AsSpan(0, n), LogicalSectorSize, _readAligned ??= ReadAligned, _writeAligned ??= WriteAligned);
            offset += n;
            length -= n;
        }
    }

    public DiskExtent GetExtent(long offset)
    {
        ThrowIfDisposed();
        var g = Volatile.Read(ref _geometry);
        if ((ulong)offset >= (ulong)g.VirtualSize) throw DiskRange.OutOfRange(this, offset, 0);
        ExtentState? state = null;
        long start = offset;
        while (offset < g.VirtualSize)
        {
            long block = offset / g.BlockSize;
            int inBlock = (int)(offset % g.BlockSize);
            long blockEnd = Math.Min((block + 1) * g.BlockSize, g.VirtualSize);
            ulong entry = Volatile.Read(ref _cache.Bat[g.PayloadIndex(block)]);
            var blockState = BatEntry.State(entry);
            if (blockState == BlockState.PartiallyPresent)
            {
                int sector = g.LogicalSectorSize, s = inBlock / sector;
                int sectors = (int)((blockEnd - block * g.BlockSize) / sector);
                while (s < sectors)
                {
                    var here = _cache.GetBitmapBit(g, block, s) ? ExtentState.Data : ExtentState.Parent;
                    state ??= here;
                    if (here != state) return new DiskExtent(start, block * g.BlockSize + (long)s * sector - start, state.Value);
                    s++;
                }
            }
            else
            {
                var here = blockState switch
                {
                    BlockState.FullyPresent => ExtentState.Data,
                    BlockState.NotPresent when g.HasParent => ExtentState.Parent,
                    _ => ExtentState.Zero,
                };
                state ??= here;
                if (here != state) break;
            }
            offset = blockEnd;
        }
        return new DiskExtent(start, offset - start, state!.Value);
    }

    public void Flush()
    {
        ThrowIfDisposed();
        if (IsReadOnly) return;
        lock (_log.Lock)
        {
            var pages = _cache.TakeDirtyPages();
            // Data (and metadata applied by earlier commits) must be stable before a log entry
            // that may point at it; the log entry then needs no earlier entry as its tail.
            _storage.Flush();
            _log.AppliedIsDurable();
            if (pages.Count > 0)
            {
                try { _log.Commit(pages, _fileEnd); }
                catch { _cache.RestoreDirtyPages(pages); throw; }
            }
        }
    }

    /// <summary>Cuts the file to <paramref name="end"/> once the log records the smaller stable size. Caller holds the log lock.</summary>
    internal void ShrinkFileTo(long end)
    {
        _log.CommitFileShrink(end, _fileEnd);
        lock (_cache.Lock) _fileEnd = end;
    }

    /// <summary>The first 1 MiB-aligned offset past every structure and block the image uses.</summary>
    internal static long ComputeFileEnd(VhdxImage image, ulong[] bat, long fileLength)
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
            // A clean close: commit what is dirty, make it stable, and leave the log empty.
            if (!IsReadOnly && _log.SessionWrote)
            {
                Flush();
                _log.Close();
            }
        }
        finally
        {
            _disposed = true;
            _storage.Dispose();
            Parent?.Dispose();
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
