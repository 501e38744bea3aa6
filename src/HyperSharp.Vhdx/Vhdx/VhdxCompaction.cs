namespace HyperSharp.Vhdx.Vhdx;

/// <summary>What a compaction did: blocks released because they held only zeros, blocks moved, bytes given back.</summary>
public sealed record CompactResult(long ZeroBlocksReleased, long BlocksMoved, long FileSizeBefore, long FileSizeAfter);

/// <summary>
/// Optimize-VHD on an open VHDX, in place: blocks that hold only zeros are released, blocks from the end of the file
/// are moved into holes (each copy flushed before the BAT points at it), and the file is cut. The disk keeps its
/// identity, so differencing children stay valid.
/// </summary>
internal static class VhdxCompaction
{
    public static CompactResult Run(VhdxDisk disk, IProgress<long>? progress)
    {
        if (disk.IsReadOnly) throw new VirtualDiskException($"{disk.Path}: the disk is open read-only");
        if (disk.Type == DiskType.Fixed) throw new VirtualDiskException($"{disk.Path}: a fixed disk keeps all its blocks allocated and cannot be compacted; convert it to dynamic instead");
        disk.Flush();
        long sizeBefore = disk.Storage.Length;
        long released = ReleaseZeroBlocks(disk, progress);
        ForgetUnmappedSpace(disk);
        disk.Flush();
        long moved = MoveBlocksIntoHoles(disk);
        long end;
        lock (disk.Cache.Lock) end = VhdxDisk.ComputeFileEnd(disk.Image, disk.Cache.Bat, 0);
        if (end < disk.Storage.Length)
            lock (disk.Log.Lock) disk.ShrinkFileTo(end);
        return new CompactResult(released, moved, sizeBefore, disk.Storage.Length);
    }

    /// <summary>Unmapped blocks may keep their space for reuse; compaction hands that space to moved blocks, so it is dropped first.</summary>
    private static void ForgetUnmappedSpace(VhdxDisk disk)
    {
        var g = disk.Geometry;
        var cache = disk.Cache;
        disk.Log.EnsureModifiable(false); // before the metadata lock: the header lock is always taken first
        lock (cache.Lock)
            for (long i = 0; i < g.TotalBatEntries; i++)
                if (BatEntry.State(cache.Bat[i]) == BlockState.Unmapped && BatEntry.FileOffset(cache.Bat[i]) != 0)
                    cache.SetBatEntry(i, BatEntry.Make(BlockState.Unmapped, 0));
    }

    private static long ReleaseZeroBlocks(VhdxDisk disk, IProgress<long>? progress)
    {
        var g = disk.Geometry;
        var cache = disk.Cache;
        var buffer = new byte[g.BlockSize];
        long released = 0;
        for (long block = 0; block < g.PayloadBlocks; block++)
        {
            progress?.Report(block * g.BlockSize);
            ulong entry = cache.Bat[g.PayloadIndex(block)];
            // Partially present blocks stay: their zero sectors hide the parent's data.
            if (BatEntry.State(entry) != BlockState.FullyPresent) continue;
            long length = Math.Min(g.BlockSize, g.VirtualSize - block * g.BlockSize);
            disk.Storage.ReadData(BatEntry.FileOffset(entry), buffer.AsSpan(0, (int)length));
            if (buffer.AsSpan(0, (int)length).ContainsAnyExcept((byte)0)) continue;
            disk.Log.EnsureModifiable(false); // the contents a reader sees do not change
            lock (cache.Lock) cache.SetBatEntry(g.PayloadIndex(block), BatEntry.Make(g.HasParent ? BlockState.Zero : BlockState.Unmapped, 0));
            released++;
        }
        return released;
    }

    /// <summary>Moves the blocks nearest the end of the file into the lowest free gaps, committing each batch.</summary>
    private static long MoveBlocksIntoHoles(VhdxDisk disk)
    {
        var g = disk.Geometry;
        var cache = disk.Cache;
        var header = disk.Log.Headers.Current;
        long moved = 0;
        long structuresEnd = Math.Max((long)header.LogOffset + header.LogLength, disk.Image.Regions.Max(r => r.FileOffset + r.Length));
        var buffer = new byte[g.BlockSize];
        while (true)
        {
            var used = UsedExtents(cache.Bat, g); // (offset, size, BAT index), sorted by offset
            var moves = new List<(long Index, long From, long To, long Size)>();
            long cursor = structuresEnd;
            int tail = used.Count - 1;
            int next = 0;
            while (next <= tail)
            {
                var (offset, size, _) = used[next];
                long gap = offset - cursor;
                var candidate = used[tail];
                if (gap >= candidate.Size && candidate.Offset > cursor)
                {
                    moves.Add((candidate.Index, candidate.Offset, cursor, candidate.Size));
                    cursor += candidate.Size;
                    tail--;
                    if (moves.Count >= 64) break;
                    continue;
                }
                cursor = Math.Max(cursor, offset + size);
                next++;
            }
            if (moves.Count == 0) return moved;
            disk.Log.EnsureModifiable(false);
            foreach (var m in moves)
            {
                var span = buffer.AsSpan(0, (int)m.Size);
                disk.Storage.ReadData(m.From, span);
                disk.Storage.Write(m.To, span);
            }
            disk.Storage.Flush(); // copies are stable before the BAT points at them
            lock (cache.Lock)
                foreach (var m in moves)
                {
                    cache.SetBatEntry(m.Index, BatEntry.Make(BatEntry.State(cache.Bat[m.Index]), m.To));
                    if (cache.HasBitmapPages) cache.MoveBitmapPages(m.From, m.To, m.Size);
                }
            disk.Flush();
            moved += moves.Count;
        }
    }

    private static List<(long Offset, long Size, long Index)> UsedExtents(ulong[] bat, VhdxGeometry g)
    {
        var used = new List<(long, long, long)>();
        for (long i = 0; i < g.TotalBatEntries; i++)
        {
            ulong e = bat[i];
            var s = BatEntry.State(e);
            bool isBitmap = (i + 1) % (g.ChunkRatio + 1) == 0;
            if (isBitmap ? s == BlockState.FullyPresent : BatEntry.HasData(s))
                used.Add((BatEntry.FileOffset(e), isBitmap ? VhdxFormat.SectorBitmapBlockSize : g.BlockSize, i));
        }
        used.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return used;
    }
}
