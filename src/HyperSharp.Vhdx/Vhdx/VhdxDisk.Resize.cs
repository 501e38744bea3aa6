using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace HyperSharp.Vhdx.Vhdx;

public sealed partial class VhdxDisk
{
    /// <summary>
    /// Grows or shrinks the virtual disk, also while I/O is in flight (online resize). Growing
    /// moves the BAT to the end of the file when it has no room; shrinking refuses to drop data
    /// unless <paramref name="allowDataLoss"/>. The size change is committed before it returns.
    /// </summary>
    public void Resize(long newCapacity, bool allowDataLoss = false)
    {
        ThrowIfDisposed();
        if (IsReadOnly) throw new VirtualDiskException($"{Path}: the disk is open read-only");
        var g = Volatile.Read(ref _geometry);
        string? problem = VhdxGeometry.Validate(newCapacity, g.BlockSize, g.LogicalSectorSize, PhysicalSectorSize);
        if (problem is not null) throw new ArgumentOutOfRangeException(nameof(newCapacity), $"{Path}: cannot resize: {problem}");
        if (newCapacity == g.VirtualSize) return;
        EnsureModifiable(true);
        lock (_flushLock)
        {
            g = _geometry;
            var next = g with { VirtualSize = newCapacity };
            if (newCapacity > g.VirtualSize) Grow(g, next);
            else Shrink(g, next, allowDataLoss);
        }
        CapacityChanged?.Invoke(this);
    }

    private void Grow(VhdxGeometry g, VhdxGeometry next)
    {
        // Bytes past the old end inside its last block may hold data from before an earlier shrink.
        long tailEnd = Math.Min(VhdxFormat.RoundUp(g.VirtualSize, g.BlockSize), next.VirtualSize);
        if (tailEnd > g.VirtualSize) ZeroPartOfBlock(g, g.VirtualSize / g.BlockSize, g.VirtualSize, tailEnd - g.VirtualSize);
        lock (_metaLock)
        {
            if (next.BatBytes > _image.BatRegion.Length) RelocateBat(next);
            if (Type == DiskType.Fixed)
                for (long b = g.PayloadBlocks; b < next.PayloadBlocks; b++)
                {
                    long index = next.PayloadIndex(b);
                    if (BatEntry.HasData(BatEntry.State(_bat[index]))) continue;
                    _bat[index] = BatEntry.Make(BlockState.FullyPresent, ReserveSpace(g.BlockSize));
                    MarkBatDirty(index);
                }
            WriteVirtualSize(next.VirtualSize);
        }
        FlushInsideLock();
        Volatile.Write(ref _geometry, next); // only now may I/O reach the new space
    }

    private void Shrink(VhdxGeometry g, VhdxGeometry next, bool allowDataLoss)
    {
        if (!allowDataLoss && FindDataBeyond(g, next.VirtualSize) is long used)
            throw new VirtualDiskException(
                $"{Path}: cannot shrink to {next.VirtualSize} bytes: data is stored at virtual offset {used} beyond the new end (shrink the file system first, or allow data loss)");
        lock (_metaLock)
        {
            Volatile.Write(ref _geometry, next); // stop I/O beyond the new end first
            for (long b = next.PayloadBlocks; b < g.PayloadBlocks; b++)
            {
                long index = g.PayloadIndex(b);
                if (_bat[index] == 0) continue;
                _bat[index] = 0;
                MarkBatDirty(index);
            }
            WriteVirtualSize(next.VirtualSize);
        }
        FlushInsideLock();
        long end;
        lock (_metaLock) end = ComputeFileEnd(_image with { Geometry = next }, _bat, 0);
        if (end < _storage.Length)
        {
            CommitFileShrink(end);
            lock (_metaLock) _fileEnd = end;
        }
    }

    /// <summary>The first virtual offset at or after <paramref name="from"/> that holds data, or null.</summary>
    private long? FindDataBeyond(VhdxGeometry g, long from)
    {
        for (long offset = from; offset < g.VirtualSize;)
        {
            var extent = GetExtent(offset);
            if (extent.State == ExtentState.Data)
            {
                // A partly used last block: only non-zero bytes count as data.
                var buffer = new byte[Math.Min(extent.Length, 1 << 20)];
                for (long at = extent.Offset; at < extent.Offset + extent.Length; at += buffer.Length)
                {
                    int n = (int)Math.Min(buffer.Length, extent.Offset + extent.Length - at);
                    ReadAligned(at, buffer.AsSpan(0, n));
                    int nz = buffer.AsSpan(0, n).IndexOfAnyExcept((byte)0);
                    if (nz >= 0) return at + nz;
                }
            }
            offset = extent.Offset + extent.Length;
        }
        return null;
    }

    private void WriteVirtualSize(long size)
    {
        var entry = _image.MetadataEntries.First(e => e.ItemId == VhdxFormat.VirtualDiskSizeItem && !e.IsUser);
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)size);
        WriteMetadataBytes(entry.Offset, bytes);
        _image = _image with { Geometry = _image.Geometry with { VirtualSize = size } };
    }

    /// <summary>
    /// Moves the BAT to new space at the end of the file: the copy is written and flushed where
    /// nothing points yet, then both region tables switch to it through the log.
    /// </summary>
    private void RelocateBat(VhdxGeometry next)
    {
        long length = VhdxFormat.RoundUp(next.BatBytes, VhdxFormat.MiB);
        if (length > uint.MaxValue) throw new VirtualDiskException($"{Path}: the BAT would need {length} bytes");
        long offset = ReserveSpace(length);
        var bat = new ulong[length / 8];
        Array.Copy(_bat, bat, _bat.Length);
        _storage.Write(offset, MemoryMarshal.AsBytes(bat.AsSpan()));
        _storage.Flush();
        var region = new RegionEntry(VhdxFormat.BatRegion, offset, (uint)length, true);
        var regions = _image.Regions.Select(r => r.Guid == VhdxFormat.BatRegion ? region : r).ToList();
        var table = new byte[VhdxFormat.RegionTableSize];
        RegionTable.WriteTo(table, regions);
        foreach (long at in new[] { VhdxFormat.RegionTable1Offset, VhdxFormat.RegionTable2Offset })
            for (int p = 0; p < table.Length; p += VhdxFormat.LogSectorSize)
                _dirtyRawPages[at + p] = table.AsSpan(p, VhdxFormat.LogSectorSize).ToArray();
        _image = _image with { Regions = regions, BatRegion = region };
        Volatile.Write(ref _bat, bat);
    }

    /// <summary>Flush while the caller already holds the flush lock (Monitor is re-entrant).</summary>
    private void FlushInsideLock() => Flush();
}
