namespace HyperSharp.Vhdx.Vhd;

// Extents: which runs of the disk hold data in this file, read as zeros, or come from the parent.
public sealed partial class VhdDisk
{
    public DiskExtent GetExtent(long offset)
    {
        long capacity = Capacity;
        if ((ulong)offset >= (ulong)capacity) throw DiskRange.OutOfRange(this, offset, 0);
        return ExtentAt(offset, capacity);
    }

    /// <summary>The extent at <paramref name="offset"/>, for a disk of <paramref name="capacity"/> bytes (a shrink checks past the new end).</summary>
    private DiskExtent ExtentAt(long offset, long capacity)
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
}
