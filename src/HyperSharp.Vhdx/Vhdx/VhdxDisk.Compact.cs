namespace HyperSharp.Vhdx.Vhdx;

/// <summary>What a compaction did: blocks released because they held only zeros, blocks moved, bytes given back.</summary>
public sealed record CompactResult(long ZeroBlocksReleased, long BlocksMoved, long FileSizeBefore, long FileSizeAfter);

public sealed partial class VhdxDisk
{
    /// <summary>
    /// Optimize-VHD: releases blocks that hold only zeros, moves blocks from the end of the file
    /// into holes, and cuts the file. Every move is copied and flushed before the BAT points at it.
    /// Run it on a disk no VM is using (concurrent writes to a block being moved would be lost).
    /// </summary>
    public CompactResult Compact(IProgress<long>? progress = null)
    {
        ThrowIfDisposed();
        if (IsReadOnly) throw new VirtualDiskException($"{Path}: the disk is open read-only");
        if (Type == DiskType.Fixed) throw new VirtualDiskException($"{Path}: a fixed disk keeps all its blocks allocated and cannot be compacted; convert it to dynamic instead");
        Flush();
        long sizeBefore = _storage.Length;
        long released = ReleaseZeroBlocks(progress);
        ForgetUnmappedSpace();
        Flush();
        long moved = MoveBlocksIntoHoles();
        long end;
        lock (_metaLock) end = ComputeFileEnd(_image, _bat, 0);
        if (end < _storage.Length)
        {
            lock (_flushLock) CommitFileShrink(end);
            lock (_metaLock) _fileEnd = end;
        }
        return new CompactResult(released, moved, sizeBefore, _storage.Length);
    }

    /// <summary>Unmapped blocks may keep their space for reuse; compaction hands that space to moved blocks, so it is dropped first.</summary>
    private void ForgetUnmappedSpace()
    {
        var g = _geometry;
        EnsureModifiable(false); // before the metadata lock: the header lock is always taken first
        lock (_metaLock)
            for (long i = 0; i < g.TotalBatEntries; i++)
                if (BatEntry.State(_bat[i]) == BlockState.Unmapped && BatEntry.FileOffset(_bat[i]) != 0)
                {
                    Volatile.Write(ref _bat[i], BatEntry.Make(BlockState.Unmapped, 0));
                    MarkBatDirty(i);
                }
    }

    private long ReleaseZeroBlocks(IProgress<long>? progress)
    {
        var g = _geometry;
        var buffer = new byte[g.BlockSize];
        long released = 0;
        for (long block = 0; block < g.PayloadBlocks; block++)
        {
            progress?.Report(block * g.BlockSize);
            ulong entry = _bat[g.PayloadIndex(block)];
            // Partially present blocks stay: their zero sectors hide the parent's data.
            if (BatEntry.State(entry) != BlockState.FullyPresent) continue;
            long length = Math.Min(g.BlockSize, g.VirtualSize - block * g.BlockSize);
            _storage.ReadData(BatEntry.FileOffset(entry), buffer.AsSpan(0, (int)length));
            if (buffer.AsSpan(0, (int)length).ContainsAnyExcept((byte)0)) continue;
            EnsureModifiable(false); // the contents a reader sees do not change
            lock (_metaLock)
            {
                long index = g.PayloadIndex(block);
                Volatile.Write(ref _bat[index], BatEntry.Make(g.HasParent ? BlockState.Zero : BlockState.Unmapped, 0));
                MarkBatDirty(index);
            }
            released++;
        }
        return released;
    }

    /// <summary>Moves the blocks nearest the end of the file into the lowest free gaps, committing each batch.</summary>
    private long MoveBlocksIntoHoles()
    {
        var g = _geometry;
        long moved = 0;
        long structuresEnd = Math.Max((long)_headers.Current.LogOffset + _headers.Current.LogLength,
            _image.Regions.Max(r => r.FileOffset + r.Length));
        var buffer = new byte[g.BlockSize];
        while (true)
        {
            var used = UsedExtents(g); // (offset, size, BAT index), sorted by offset
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
            EnsureModifiable(false);
            foreach (var m in moves)
            {
                var span = buffer.AsSpan(0, (int)m.Size);
                _storage.ReadData(m.From, span);
                _storage.Write(m.To, span);
            }
            _storage.Flush(); // copies are stable before the BAT points at them
            lock (_metaLock)
                foreach (var m in moves)
                {
                    ulong entry = _bat[m.Index];
                    Volatile.Write(ref _bat[m.Index], BatEntry.Make(BatEntry.State(entry), m.To));
                    MarkBatDirty(m.Index);
                    if (_bitmapPages.Count > 0) MoveCachedBitmapPages(m.From, m.To, m.Size);
                }
            Flush();
            moved += moves.Count;
        }
    }

    private void MoveCachedBitmapPages(long from, long to, long size)
    {
        for (long p = 0; p < size; p += VhdxFormat.LogSectorSize)
            if (_bitmapPages.TryRemove(from + p, out var page)) _bitmapPages[to + p] = page;
    }

    private List<(long Offset, long Size, long Index)> UsedExtents(VhdxGeometry g)
    {
        var used = new List<(long, long, long)>();
        for (long i = 0; i < g.TotalBatEntries; i++)
        {
            ulong e = _bat[i];
            var s = BatEntry.State(e);
            bool isBitmap = (i + 1) % (g.ChunkRatio + 1) == 0;
            if (isBitmap ? s == BlockState.FullyPresent : BatEntry.HasData(s))
                used.Add((BatEntry.FileOffset(e), isBitmap ? VhdxFormat.SectorBitmapBlockSize : g.BlockSize, i));
        }
        used.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return used;
    }
}
