using System.Numerics;
using Microsoft.Win32.SafeHandles;

namespace HyperSharp.Vhdx.Vhd;

/// <summary>
/// A legacy VHD image (fixed, dynamic or differencing) per Microsoft's Virtual Hard Disk Image
/// Format Specification. Data I/O is positional and lock-free; only block allocation and resize
/// take the disk's allocation lock, and sector-bitmap updates lock the one block they change.
/// Opening is <see cref="VhdOpener"/>'s job, creating <see cref="VhdCreator"/>'s and resizing <see cref="VhdResize"/>'s.
/// </summary>
public sealed class VhdDisk : IVirtualDisk
{
    private readonly SafeFileHandle _handle;
    /// <summary>Mutated only under <see cref="_allocLock"/> (its size fields change on resize).</summary>
    private readonly VhdFooter _footer;
    private readonly VhdDynamicHeader? _header;
    private readonly VhdBat? _bat;
    private readonly VhdSectorBitmaps? _bitmaps;
    private readonly int _blockSize;
    private readonly int _blockShift;
    private readonly int _bitmapBytes;
    private readonly Lock _allocLock = new();
    /// <summary>Where the trailing footer sits; a new block (or a moved BAT) goes here and pushes the footer on.</summary>
    private long _footerOffset;
    private long _capacity;
    private readonly IVirtualDisk? _parent;
    private int _disposed;
    // Cached so an I/O does not allocate a delegate for SectorAlignedIo each time.
    private readonly SectorAlignedIo.AlignedRead _readAligned;
    private readonly SectorAlignedIo.AlignedWrite _writeAligned;

    internal VhdDisk(string path, SafeFileHandle handle, bool readOnly, VhdFooter footer, long footerOffset,
        VhdDynamicHeader? header, VhdBat? bat, IVirtualDisk? parent)
    {
        Path = path;
        _handle = handle;
        IsReadOnly = readOnly;
        _footer = footer;
        _footerOffset = footerOffset;
        _header = header;
        _bat = bat;
        _parent = parent;
        _capacity = (long)footer.CurrentSize;
        _readAligned = ReadAligned;
        _writeAligned = WriteAligned;
        Type = footer.DiskType switch
        {
            VhdFooter.FixedType => DiskType.Fixed,
            VhdFooter.DynamicType => DiskType.Dynamic,
            _ => DiskType.Differencing,
        };
        if (header is not null)
        {
            _blockSize = (int)header.BlockSize;
            _blockShift = BitOperations.Log2(header.BlockSize);
            _bitmapBytes = VhdDynamicHeader.BitmapBytes(header.BlockSize);
            if (Type == DiskType.Differencing) _bitmaps = new VhdSectorBitmaps(handle, _bitmapBytes);
        }
    }

    /// <summary>Opens a VHD and, for a differencing disk, its parent chain (read-only).</summary>
    public static VhdDisk Open(string path, DiskOpenOptions? options = null) =>
        VhdOpener.Open(path, options ?? DiskOpenOptions.Default, []);

    /// <summary>Creates a fixed, dynamic or differencing VHD (Format must be <see cref="DiskFormat.Vhd"/>) and opens it for writing.</summary>
    public static VhdDisk Create(string path, DiskCreateOptions options) => Open(VhdCreator.Create(path, options));

    public string Path { get; }
    public DiskFormat Format => DiskFormat.Vhd;
    public DiskType Type { get; }
    public long Capacity => Volatile.Read(ref _capacity);
    public int LogicalSectorSize => 512;
    public int PhysicalSectorSize => 512;
    public bool IsReadOnly { get; }
    public IVirtualDisk? Parent => _parent;
    public event Action<IVirtualDisk>? CapacityChanged;

    /// <summary>Block size of a dynamic or differencing disk; 0 for a fixed disk.</summary>
    public int BlockSize => _blockSize;

    /// <summary>The footer's unique id (a differencing child records its parent's).</summary>
    public Guid UniqueId => new(_footer.UniqueId, bigEndian: true);

    internal byte[] UniqueIdBytes => _footer.UniqueId;

    private bool IsDifferencing => _bitmaps is not null;

    // What resizing works on (VhdResize), always under AllocationLock.
    internal Lock AllocationLock => _allocLock;
    internal SafeFileHandle Handle => _handle;
    internal VhdFooter Footer => _footer;
    internal VhdDynamicHeader? Header => _header;
    internal VhdBat? Bat => _bat;
    internal VhdSectorBitmaps? Bitmaps => _bitmaps;
    internal int BlockShift => _blockShift;
    internal long FooterOffset { get => _footerOffset; set => _footerOffset = value; }
    internal void PublishCapacity(long capacity) => Volatile.Write(ref _capacity, capacity);

    /// <summary>
    /// Grows or shrinks the virtual disk, also while I/O is in flight. Shrinking refuses to drop
    /// data unless <paramref name="allowDataLoss"/>.
    /// </summary>
    public void Resize(long newCapacity, bool allowDataLoss = false)
    {
        if (VhdResize.Run(this, newCapacity, allowDataLoss)) CapacityChanged?.Invoke(this);
    }

    public void Read(long offset, Span<byte> buffer)
    {
        DiskRange.Check(this, offset, buffer.Length);
        SectorAlignedIo.Read(offset, buffer, 512, _readAligned);
    }

    public void Write(long offset, ReadOnlySpan<byte> buffer)
    {
        DiskRange.CheckWritable(this, offset, buffer.Length);
        SectorAlignedIo.Write(offset, buffer, 512, _readAligned, _writeAligned);
    }

    public void Flush()
    {
        if (!IsReadOnly) RandomAccess.FlushToDisk(_handle);
    }

    internal long BlockData(uint entry) => (long)entry * 512 + _bitmapBytes;

    internal void ReadAligned(long offset, Span<byte> buffer)
    {
        if (_bat is null) { VhdIo.ReadData(_handle, buffer, offset); return; }
        while (buffer.Length > 0)
        {
            long block = offset >> _blockShift;
            int inBlock = (int)(offset & (_blockSize - 1));
            int n = Math.Min(buffer.Length, _blockSize - inBlock);
            Span<byte> chunk = buffer[..n];
            uint entry = _bat[block];
            if (entry == VhdBat.Unallocated)
            {
                if (IsDifferencing) ReadParent(offset, chunk);
                else chunk.Clear();
            }
            else if (!IsDifferencing) VhdIo.ReadData(_handle, chunk, BlockData(entry) + inBlock);
            else ReadPartial(block, entry, inBlock, offset, chunk);
            buffer = buffer[n..];
            offset += n;
        }
    }

    /// <summary>Reads within one allocated differencing block: present sectors from here, the rest from the parent.</summary>
    private void ReadPartial(long block, uint entry, int inBlock, long offset, Span<byte> chunk)
    {
        byte[] map = _bitmaps!.Get(block, entry);
        int sector = inBlock / 512, limit = sector + chunk.Length / 512;
        while (sector < limit)
        {
            int run = VhdSectorBitmaps.Run(map, sector, limit, out bool present);
            int bytes = run * 512;
            if (present) VhdIo.ReadData(_handle, chunk[..bytes], BlockData(entry) + (long)sector * 512);
            else ReadParent(offset, chunk[..bytes]);
            chunk = chunk[bytes..];
            offset += bytes;
            sector += run;
        }
    }

    /// <summary>Reads from the parent; where the parent is smaller than this disk (or not opened), zeros.</summary>
    private void ReadParent(long offset, Span<byte> chunk)
    {
        long parentCapacity = _parent?.Capacity ?? 0;
        int n = (int)Math.Clamp(parentCapacity - offset, 0, chunk.Length);
        if (n > 0) _parent!.Read(offset, chunk[..n]);
        chunk[n..].Clear();
    }

    private void WriteAligned(long offset, ReadOnlySpan<byte> buffer)
    {
        if (_bat is null) { RandomAccess.Write(_handle, buffer, offset); return; }
        while (buffer.Length > 0)
        {
            long block = offset >> _blockShift;
            int inBlock = (int)(offset & (_blockSize - 1));
            int n = Math.Min(buffer.Length, _blockSize - inBlock);
            uint entry = _bat[block];
            if (entry == VhdBat.Unallocated) entry = AllocateBlock(block);
            RandomAccess.Write(_handle, buffer[..n], BlockData(entry) + inBlock);
            // Bits after data: a crash in between leaves the parent's data visible, never garbage.
            _bitmaps?.Update(block, entry, inBlock / 512, n / 512, true);
            buffer = buffer[n..];
            offset += n;
        }
    }

    /// <summary>
    /// Places a new block where the footer is. Order keeps the file valid at every step: footer at
    /// the new end first, then the block's bitmap over the old footer, then the BAT entry.
    /// </summary>
    private uint AllocateBlock(long block)
    {
        lock (_allocLock)
        {
            uint entry = _bat![block];
            if (entry != VhdBat.Unallocated) return entry; // another thread won the race
            // A shrink may have moved the end since this write passed its range check.
            if (block << _blockShift >= Capacity)
                throw new VirtualDiskException($"{Path}: the disk shrank to {Capacity} bytes while a write beyond that was in flight");
            long at = (_footerOffset + 511) / 512 * 512;
            if (at / 512 >= VhdBat.Unallocated)
                throw new VirtualDiskException($"{Path}: the file has reached the 2 TiB that the VHD block table can address");
            long next = at + _bitmapBytes + _blockSize;
            RandomAccess.Write(_handle, _footer.ToBytes(), next);
            var bitmap = new byte[_bitmapBytes];
            // Dynamic disks mark every sector present (readers ignore it); differencing blocks start empty.
            if (!IsDifferencing) bitmap.AsSpan().Fill(0xFF);
            RandomAccess.Write(_handle, bitmap, at);
            _bitmaps?.AddNew(block);
            entry = (uint)(at / 512);
            _bat.Set(_handle, block, entry);
            _footerOffset = next;
            return entry;
        }
    }

    public void Unmap(long offset, long length)
    {
        DiskRange.CheckWritable(this, offset, length);
        long end = offset + length;
        long a = (offset + 511) / 512 * 512, b = end / 512 * 512;
        if (a >= b) { WriteZeros(offset, end - offset); return; }
        WriteZeros(offset, a - offset);
        WriteZeros(b, end - b);
        UnmapAligned(a, b - a);
    }

    private void WriteZeros(long offset, long length)
    {
        if (length > 0) Write(offset, stackalloc byte[(int)length]);
    }

    /// <summary>
    /// Zeros a sector-aligned range. Blocks stay allocated (freeing one could race a writer that
    /// already looked it up); their data is punched out. Differencing disks also set the bits so
    /// the parent is no longer read there.
    /// </summary>
    private void UnmapAligned(long offset, long length)
    {
        if (_bat is null) { VhdIo.Zero(_handle, offset, length); return; }
        while (length > 0)
        {
            long block = offset >> _blockShift;
            int inBlock = (int)(offset & (_blockSize - 1));
            int n = (int)Math.Min(length, _blockSize - inBlock);
            uint entry = _bat[block];
            if (entry == VhdBat.Unallocated && IsDifferencing) entry = AllocateBlock(block);
            if (entry != VhdBat.Unallocated)
            {
                VhdIo.Zero(_handle, BlockData(entry) + inBlock, n);
                _bitmaps?.Update(block, entry, inBlock / 512, n / 512, true);
            }
            offset += n;
            length -= n;
        }
    }

    // Extents: which runs of the disk hold data in this file, read as zeros, or come from the parent.
    public DiskExtent GetExtent(long offset)
    {
        long capacity = Capacity;
        if ((ulong)offset >= (ulong)capacity) throw DiskRange.OutOfRange(this, offset, 0);
        return ExtentAt(offset, capacity);
    }

    /// <summary>The extent at <paramref name="offset"/>, for a disk of <paramref name="capacity"/> bytes (a shrink checks past the new end).</summary>
    internal DiskExtent ExtentAt(long offset, long capacity)
    {
        if (_bat is null)
        {
            // Fixed: the data area is the file's start, so holes in a sparse file are zero runs.
            var (isData, end) = HostFile.DataOrHole(_handle, offset, capacity);
            return new DiskExtent(offset, end - offset, isData ? ExtentState.Data : ExtentState.Zero);
        }
        ExtentState? state = null;
        long at = offset;
        while (at < capacity)
        {
            var (runState, runEnd) = RunAt(at, capacity);
            if (state is null) state = runState;
            else if (runState != state) break;
            at = runEnd;
        }
        return new DiskExtent(offset, at - offset, state!.Value);
    }

    /// <summary>The state at <paramref name="at"/> and where that state ends, without leaving its block.</summary>
    private (ExtentState State, long End) RunAt(long at, long capacity)
    {
        long block = at >> _blockShift;
        long blockStart = block << _blockShift;
        long blockEnd = Math.Min(blockStart + _blockSize, capacity);
        uint entry = _bat![block];
        if (entry == VhdBat.Unallocated)
            return (IsDifferencing ? ExtentState.Parent : ExtentState.Zero, blockEnd);
        if (!IsDifferencing) return (ExtentState.Data, blockEnd);
        byte[] map = _bitmaps!.Get(block, entry);
        int sector = (int)((at - blockStart) / 512);
        int limit = (int)((blockEnd - blockStart + 511) / 512);
        int run = VhdSectorBitmaps.Run(map, sector, limit, out bool present);
        return (present ? ExtentState.Data : ExtentState.Parent, Math.Min(blockStart + (long)(sector + run) * 512, capacity));
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _handle.Dispose();
        _parent?.Dispose();
    }
}
