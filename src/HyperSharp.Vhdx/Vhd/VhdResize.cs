namespace HyperSharp.Vhdx.Vhd;

/// <summary>
/// Resize-VHD on an open VHD, also while I/O is in flight: grow or shrink under the disk's allocation
/// lock, keeping the file valid after every write. A shrink stops writes beyond the new end first and
/// refuses to drop stored data unless allowed.
/// </summary>
internal static class VhdResize
{
    /// <summary>Resizes <paramref name="disk"/>; false when the capacity was already <paramref name="newCapacity"/>.</summary>
    public static bool Run(VhdDisk disk, long newCapacity, bool allowDataLoss)
    {
        if (disk.IsReadOnly) throw new VirtualDiskException($"{disk.Path}: the disk is open read-only");
        VhdCreator.CheckCapacity(newCapacity);
        lock (disk.AllocationLock)
        {
            long old = disk.Capacity;
            if (newCapacity == old) return false;
            bool shrink = newCapacity < old;
            // Shrink: the new end applies before the check, so no new write lands beyond it
            // meanwhile (and allocation refuses blocks past it). Grow: it applies once the file is ready.
            if (shrink) disk.PublishCapacity(newCapacity);
            try
            {
                if (shrink && !allowDataLoss)
                {
                    long lost = FirstDataBeyond(disk, newCapacity, old);
                    if (lost >= 0)
                        throw new VirtualDiskException($"{disk.Path}: shrinking to {newCapacity} bytes would drop data stored at offset {lost}; " +
                            "move the data first or allow data loss");
                }
                if (disk.Bat is null) ResizeFixed(disk, old, newCapacity);
                else ResizeSparse(disk, old, newCapacity);
            }
            catch
            {
                disk.PublishCapacity(old);
                throw;
            }
            disk.PublishCapacity(newCapacity);
        }
        return true;
    }

    /// <summary>The first offset in [from, to) holding a non-zero byte stored in the disk's file, or -1.</summary>
    private static long FirstDataBeyond(VhdDisk disk, long from, long to)
    {
        var buffer = new byte[1 << 20];
        long at = from;
        while (at < to)
        {
            DiskExtent e = disk.ExtentAt(at, to);
            long end = Math.Min(e.Offset + e.Length, to);
            if (e.State == ExtentState.Data)
            {
                // Allocated is not the same as used: a block whose tail the guest never wrote is all zeros.
                // Reads bypass the range check (the capacity is already the new one) and stay sector-aligned.
                for (long p = at / 512 * 512; p < end; p += buffer.Length)
                {
                    int n = (int)Math.Min(buffer.Length, (end - p + 511) / 512 * 512);
                    disk.ReadAligned(p, buffer.AsSpan(0, n));
                    int i = buffer.AsSpan(0, n).IndexOfAnyExcept((byte)0);
                    if (i >= 0) return p + i;
                }
            }
            at = end;
        }
        return -1;
    }

    private static void UpdateSize(VhdFooter footer, long capacity)
    {
        footer.CurrentSize = (ulong)capacity;
        footer.Geometry = VhdGeometry.FromCapacity(capacity);
    }

    /// <summary>
    /// Fixed: grow writes the new footer at the new end before the old one is zeroed (the file's
    /// last 512 bytes are always a valid footer); shrink writes the footer, then truncates.
    /// </summary>
    private static void ResizeFixed(VhdDisk disk, long old, long capacity)
    {
        UpdateSize(disk.Footer, capacity);
        RandomAccess.Write(disk.Handle, disk.Footer.ToBytes(), capacity);
        if (capacity > old) VhdIo.Zero(disk.Handle, old, VhdFooter.Size);
        else RandomAccess.SetLength(disk.Handle, capacity + VhdFooter.Size);
        disk.FooterOffset = capacity;
    }

    private static void ResizeSparse(VhdDisk disk, long old, long capacity)
    {
        int blockSize = disk.BlockSize;
        long blocks = (capacity + blockSize - 1) / blockSize;
        if (blocks > VhdDynamicHeader.MaxTableEntriesInMemory)
            throw new VirtualDiskException($"{disk.Path}: with {blockSize}-byte blocks the largest capacity this implementation supports is " +
                $"{(long)VhdDynamicHeader.MaxTableEntriesInMemory * blockSize} bytes; {capacity} was asked for");
        if (capacity < old) DropBeyond(disk, capacity, old);
        if (blocks > disk.Bat!.MaxEntries) MoveBat(disk, blocks);
        UpdateSize(disk.Footer, capacity);
        byte[] footer = disk.Footer.ToBytes();
        RandomAccess.Write(disk.Handle, footer, disk.FooterOffset);
        RandomAccess.Write(disk.Handle, footer, 0);
    }

    /// <summary>
    /// Forgets what lies beyond a shrunken end, so growing again later shows zeros (or the parent),
    /// not stale data: whole blocks are unlinked (their space stays in the file), the tail of the
    /// last block is zeroed (dynamic) or handed back to the parent (differencing).
    /// </summary>
    private static void DropBeyond(VhdDisk disk, long capacity, long old)
    {
        int blockSize = disk.BlockSize, shift = disk.BlockShift;
        VhdBat bat = disk.Bat!;
        long firstWhole = (capacity + blockSize - 1) >> shift;
        long oldBlocks = (old + blockSize - 1) >> shift;
        for (long b = firstWhole; b < oldBlocks; b++)
        {
            if (bat[b] == VhdBat.Unallocated) continue;
            bat.Set(disk.Handle, b, VhdBat.Unallocated);
            disk.Bitmaps?.Forget(b);
        }
        long tail = capacity & (blockSize - 1);
        if (tail == 0) return;
        long last = capacity >> shift;
        uint entry = bat[last];
        if (entry == VhdBat.Unallocated) return;
        VhdIo.Zero(disk.Handle, disk.BlockData(entry) + tail, blockSize - tail);
        disk.Bitmaps?.Update(last, entry, (int)(tail / 512), (int)((blockSize - tail) / 512), false);
    }

    /// <summary>
    /// The BAT has no room for the new size: write a larger one where the footer is (footer pushed
    /// on first), then point the dynamic header at it. The old table's space is left unused.
    /// </summary>
    private static void MoveBat(VhdDisk disk, long blocks)
    {
        int blockSize = disk.BlockSize;
        VhdBat bat = disk.Bat!;
        long maxEntries = Math.Min((VhdFooter.MaxCapacity + blockSize - 1) / blockSize, VhdDynamicHeader.MaxTableEntriesInMemory);
        // Double, so repeated small grows do not move the table each time.
        long want = Math.Min(Math.Max(blocks, (long)bat.MaxEntries * 2), maxEntries);
        int entries = (int)(VhdBat.TableBytes(want) / 4);
        long at = (disk.FooterOffset + 511) / 512 * 512;
        long next = at + VhdBat.TableBytes(entries);
        RandomAccess.Write(disk.Handle, disk.Footer.ToBytes(), next);
        bat.Grow(at, entries);
        RandomAccess.Write(disk.Handle, bat.ToBytes(), at);
        VhdDynamicHeader header = disk.Header!;
        header.TableOffset = at;
        header.MaxTableEntries = (uint)entries;
        RandomAccess.Write(disk.Handle, header.ToBytes(), (long)disk.Footer.DataOffset);
        disk.FooterOffset = next;
    }
}
