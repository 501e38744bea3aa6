namespace HyperSharp.Vhdx.Vhd;

// Resizing: grow or shrink under the allocation lock, keeping the file valid after every write.
public sealed partial class VhdDisk
{
    public void Resize(long newCapacity, bool allowDataLoss = false)
    {
        if (IsReadOnly) throw new VirtualDiskException($"{Path}: the disk is open read-only");
        CheckCapacity(newCapacity);
        lock (_allocLock)
        {
            long old = Capacity;
            if (newCapacity == old) return;
            bool shrink = newCapacity < old;
            // Shrink: the new end applies before the check, so no new write lands beyond it
            // meanwhile (and AllocateBlock refuses blocks past it). Grow: it applies once the file is ready.
            if (shrink) Volatile.Write(ref _capacity, newCapacity);
            try
            {
                if (shrink && !allowDataLoss)
                {
                    long lost = FirstDataBeyond(newCapacity, old);
                    if (lost >= 0)
                        throw new VirtualDiskException($"{Path}: shrinking to {newCapacity} bytes would drop data stored at offset {lost}; " +
                            "move the data first or allow data loss");
                }
                if (_bat is null) ResizeFixed(old, newCapacity);
                else ResizeSparse(old, newCapacity);
            }
            catch
            {
                Volatile.Write(ref _capacity, old);
                throw;
            }
            Volatile.Write(ref _capacity, newCapacity);
        }
        CapacityChanged?.Invoke(this);
    }

    /// <summary>The first offset in [from, to) holding a non-zero byte stored in this file, or -1.</summary>
    private long FirstDataBeyond(long from, long to)
    {
        var buffer = new byte[1 << 20];
        long at = from;
        while (at < to)
        {
            DiskExtent e = ExtentAt(at, to);
            long end = Math.Min(e.Offset + e.Length, to);
            if (e.State == ExtentState.Data)
            {
                // Allocated is not the same as used: a block whose tail the guest never wrote is all zeros.
                // Reads bypass the range check (the capacity is already the new one) and stay sector-aligned.
                for (long p = at / 512 * 512; p < end; p += buffer.Length)
                {
                    int n = (int)Math.Min(buffer.Length, (end - p + 511) / 512 * 512);
                    ReadAligned(p, buffer.AsSpan(0, n));
                    int i = buffer.AsSpan(0, n).IndexOfAnyExcept((byte)0);
                    if (i >= 0) return p + i;
                }
            }
            at = end;
        }
        return -1;
    }

    private void UpdateSize(long capacity)
    {
        _footer.CurrentSize = (ulong)capacity;
        _footer.Geometry = VhdGeometry.FromCapacity(capacity);
    }

    /// <summary>
    /// Fixed: grow writes the new footer at the new end before the old one is zeroed (the file's
    /// last 512 bytes are always a valid footer); shrink writes the footer, then truncates.
    /// </summary>
    private void ResizeFixed(long old, long capacity)
    {
        UpdateSize(capacity);
        RandomAccess.Write(_handle, _footer.ToBytes(), capacity);
        if (capacity > old) VhdIo.Zero(_handle, old, VhdFooter.Size);
        else RandomAccess.SetLength(_handle, capacity + VhdFooter.Size);
        _footerOffset = capacity;
    }

    private void ResizeSparse(long old, long capacity)
    {
        long blocks = (capacity + _blockSize - 1) / _blockSize;
        if (blocks > VhdDynamicHeader.MaxTableEntriesInMemory)
            throw new VirtualDiskException($"{Path}: with {_blockSize}-byte blocks the largest capacity this implementation supports is " +
                $"{(long)VhdDynamicHeader.MaxTableEntriesInMemory * _blockSize} bytes; {capacity} was asked for");
        if (capacity < old) DropBeyond(capacity, old);
        if (blocks > _bat!.MaxEntries) MoveBat(blocks);
        UpdateSize(capacity);
        byte[] footer = _footer.ToBytes();
        RandomAccess.Write(_handle, footer, _footerOffset);
        RandomAccess.Write(_handle, footer, 0);
    }

    /// <summary>
    /// Forgets what lies beyond a shrunken end, so growing again later shows zeros (or the parent),
    /// not stale data: whole blocks are unlinked (their space stays in the file), the tail of the
    /// last block is zeroed (dynamic) or handed back to the parent (differencing).
    /// </summary>
    private void DropBeyond(long capacity, long old)
    {
        long firstWhole = (capacity + _blockSize - 1) >> _blockShift;
        long oldBlocks = (old + _blockSize - 1) >> _blockShift;
        for (long b = firstWhole; b < oldBlocks; b++)
        {
            if (_bat![b] == VhdBat.Unallocated) continue;
            _bat.Set(_handle, b, VhdBat.Unallocated);
            _bitmaps?.Forget(b);
        }
        long tail = capacity & (_blockSize - 1);
        if (tail == 0) return;
        long last = capacity >> _blockShift;
        uint entry = _bat![last];
        if (entry == VhdBat.Unallocated) return;
        VhdIo.Zero(_handle, BlockData(entry) + tail, _blockSize - tail);
        _bitmaps?.Update(last, entry, (int)(tail / 512), (int)((_blockSize - tail) / 512), false);
    }

    /// <summary>
    /// The BAT has no room for the new size: write a larger one where the footer is (footer pushed
    /// on first), then point the dynamic header at it. The old table's space is left unused.
    /// </summary>
    private void MoveBat(long blocks)
    {
        long maxEntries = Math.Min((VhdFooter.MaxCapacity + _blockSize - 1) / _blockSize, VhdDynamicHeader.MaxTableEntriesInMemory);
        // Double, so repeated small grows do not move the table each time.
        long want = Math.Min(Math.Max(blocks, (long)_bat!.MaxEntries * 2), maxEntries);
        int entries = (int)(VhdBat.TableBytes(want) / 4);
        long at = (_footerOffset + 511) / 512 * 512;
        long next = at + VhdBat.TableBytes(entries);
        RandomAccess.Write(_handle, _footer.ToBytes(), next);
        _bat.Grow(at, entries);
        RandomAccess.Write(_handle, _bat.ToBytes(), at);
        _header!.TableOffset = at;
        _header.MaxTableEntries = (uint)entries;
        RandomAccess.Write(_handle, _header.ToBytes(), (long)_footer.DataOffset);
        _footerOffset = next;
    }
}
