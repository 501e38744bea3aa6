namespace HyperSharp.Vhdx.Vhdx;

public sealed partial class VhdxDisk
{
    /// <summary>
    /// Whole blocks change state (unmapped in a dynamic disk, with their space punched out; zero in
    /// a differencing disk); partial blocks are zeroed in place. A fixed disk keeps its allocation.
    /// </summary>
    public void Unmap(long offset, long length)
    {
        ThrowIfDisposed();
        DiskRange.CheckWritable(this, offset, length);
        if (length == 0) return;
        EnsureModifiable(true);
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
        lock (_metaLock)
        {
            long index = g.PayloadIndex(block);
            ulong entry = _bat[index];
            var state = BatEntry.State(entry);
            BlockState target = g.HasParent ? BlockState.Zero : BlockState.Unmapped;
            if (state == target || (!g.HasParent && state is BlockState.NotPresent or BlockState.Zero)) return;
            long fileOffset = BatEntry.FileOffset(entry);
            bool punched = BatEntry.HasData(state) && HostFile.PunchHole(_storage.Handle, fileOffset, g.BlockSize);
            // An unmapped block keeps its (now zero-filled) space for reuse; otherwise the offset is dropped.
            ulong newEntry = target == BlockState.Unmapped && punched ? BatEntry.Make(target, fileOffset) : BatEntry.Make(target, 0);
            Volatile.Write(ref _bat[index], newEntry);
            MarkBatDirty(index);
        }
    }

    private void ZeroPartOfBlock(VhdxGeometry g, long block, long offset, long length)
    {
        ulong entry = Volatile.Read(ref _bat[g.PayloadIndex(block)]);
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
            SectorAlignedIo.Write(offset, zeros.AsSpan(0, n), LogicalSectorSize, ReadAlignedDelegate, WriteAlignedDelegate);
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
            ulong entry = Volatile.Read(ref _bat[g.PayloadIndex(block)]);
            var blockState = BatEntry.State(entry);
            if (blockState == BlockState.PartiallyPresent)
            {
                int sector = g.LogicalSectorSize, s = inBlock / sector;
                int sectors = (int)((blockEnd - block * g.BlockSize) / sector);
                while (s < sectors)
                {
                    var here = GetBitmapBit(g, block, s) ? ExtentState.Data : ExtentState.Parent;
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
}
