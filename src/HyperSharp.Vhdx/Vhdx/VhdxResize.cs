using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// Resize-VHD on an open VHDX, also while I/O is in flight (online resize): growing publishes the new size only
/// after the metadata (and a BAT moved to the end of the file when it has no room) is committed; shrinking stops
/// I/O beyond the new end first and refuses to drop stored data unless allowed; the file is cut afterwards.
/// </summary>
internal static class VhdxResize
{
    /// <summary>Resizes <paramref name="disk"/>; false when the capacity was already <paramref name="newCapacity"/>.</summary>
    public static bool Run(VhdxDisk disk, long newCapacity, bool allowDataLoss)
    {
        if (disk.IsReadOnly) throw new VirtualDiskException($"{disk.Path}: the disk is open read-only");
        var g = disk.Geometry;
        string? problem = VhdxGeometry.Validate(newCapacity, g.BlockSize, g.LogicalSectorSize, disk.PhysicalSectorSize);
        if (problem is not null) throw new ArgumentOutOfRangeException(nameof(newCapacity), $"{disk.Path}: cannot resize: {problem}");
        if (newCapacity == g.VirtualSize) return false;
        disk.Log.EnsureModifiable(true);
        lock (disk.Log.Lock)
        {
            g = disk.Geometry;
            var next = g with { VirtualSize = newCapacity };
            if (newCapacity > g.VirtualSize) Grow(disk, g, next);
            else Shrink(disk, g, next, allowDataLoss);
        }
        return true;
    }

    private static void Grow(VhdxDisk disk, VhdxGeometry g, VhdxGeometry next)
    {
        // Bytes past the old end inside its last block may hold data from before an earlier shrink.
        long tailEnd = Math.Min(VhdxFormat.RoundUp(g.VirtualSize, g.BlockSize), next.VirtualSize);
        if (tailEnd > g.VirtualSize) disk.ZeroPartOfBlock(g, g.VirtualSize / g.BlockSize, g.VirtualSize, tailEnd - g.VirtualSize);
        var cache = disk.Cache;
        lock (cache.Lock)
        {
            if (next.BatBytes > disk.Image.BatRegion.Length) RelocateBat(disk, next);
            if (disk.Type == DiskType.Fixed)
                for (long b = g.PayloadBlocks; b < next.PayloadBlocks; b++)
                {
                    long index = next.PayloadIndex(b);
                    if (BatEntry.HasData(BatEntry.State(cache.Bat[index]))) continue;
                    cache.Bat[index] = BatEntry.Make(BlockState.FullyPresent, disk.ReserveSpace(g.BlockSize));
                    cache.MarkBatDirty(index);
                }
            WriteVirtualSize(disk, next.VirtualSize);
        }
        disk.Flush(); // the caller holds the log lock, which is re-entrant
        disk.Geometry = next; // only now may I/O reach the new space
    }

    private static void Shrink(VhdxDisk disk, VhdxGeometry g, VhdxGeometry next, bool allowDataLoss)
    {
        if (!allowDataLoss && FindDataBeyond(disk, g, next.VirtualSize) is long used)
            throw new VirtualDiskException(
                $"{disk.Path}: cannot shrink to {next.VirtualSize} bytes: data is stored at virtual offset {used} beyond the new end (shrink the file system first, or allow data loss)");
        var cache = disk.Cache;
        lock (cache.Lock)
        {
            disk.Geometry = next; // stop I/O beyond the new end first
            for (long b = next.PayloadBlocks; b < g.PayloadBlocks; b++)
            {
                long index = g.PayloadIndex(b);
                if (cache.Bat[index] == 0) continue;
                cache.Bat[index] = 0;
                cache.MarkBatDirty(index);
            }
            WriteVirtualSize(disk, next.VirtualSize);
        }
        disk.Flush();
        long end;
        lock (cache.Lock) end = VhdxDisk.ComputeFileEnd(disk.Image with { Geometry = next }, cache.Bat, 0);
        if (end < disk.Storage.Length) disk.ShrinkFileTo(end);
    }

    /// <summary>The first virtual offset at or after <paramref name="from"/> that holds data, or null.</summary>
    private static long? FindDataBeyond(VhdxDisk disk, VhdxGeometry g, long from)
    {
        for (long offset = from; offset < g.VirtualSize;)
        {
            var extent = disk.GetExtent(offset);
            if (extent.State == ExtentState.Data)
            {
                // A partly used last block: only non-zero bytes count as data.
                var buffer = new byte[Math.Min(extent.Length, 1 << 20)];
                for (long at = extent.Offset; at < extent.Offset + extent.Length; at += buffer.Length)
                {
                    int n = (int)Math.Min(buffer.Length, extent.Offset + extent.Length - at);
                    disk.ReadAligned(at, buffer.AsSpan(0, n));
                    int nz = buffer.AsSpan(0, n).IndexOfAnyExcept((byte)0);
                    if (nz >= 0) return at + nz;
                }
            }
            offset = extent.Offset + extent.Length;
        }
        return null;
    }

    private static void WriteVirtualSize(VhdxDisk disk, long size)
    {
        var image = disk.Image;
        var entry = image.MetadataEntries.First(e => e.ItemId == VhdxFormat.VirtualDiskSizeItem && !e.IsUser);
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)size);
        disk.Cache.WriteMetadataBytes(entry.Offset, bytes);
        disk.Image = image with { Geometry = image.Geometry with { VirtualSize = size } };
    }

    /// <summary>
    /// Moves the BAT to new space at the end of the file: the copy is written and flushed where
    /// nothing points yet, then both region tables switch to it through the log.
    /// </summary>
    private static void RelocateBat(VhdxDisk disk, VhdxGeometry next)
    {
        long length = VhdxFormat.RoundUp(next.BatBytes, VhdxFormat.MiB);
        if (length > uint.MaxValue) throw new VirtualDiskException($"{disk.Path}: the BAT would need {length} bytes");
        long offset = disk.ReserveSpace(length);
        var bat = new ulong[length / 8];
        Array.Copy(disk.Cache.Bat, bat, disk.Cache.Bat.Length);
        disk.Storage.Write(offset, MemoryMarshal.AsBytes(bat.AsSpan()));
        disk.Storage.Flush();
        var region = new RegionEntry(VhdxFormat.BatRegion, offset, (uint)length, true);
        var regions = disk.Image.Regions.Select(r => r.Guid == VhdxFormat.BatRegion ? region : r).ToList();
        var table = new byte[VhdxFormat.RegionTableSize];
        RegionTable.WriteTo(table, regions);
        foreach (long at in new[] { VhdxFormat.RegionTable1Offset, VhdxFormat.RegionTable2Offset })
            for (int p = 0; p < table.Length; p += VhdxFormat.LogSectorSize)
                disk.Cache.WriteRawPage(at + p, table.AsSpan(p, VhdxFormat.LogSectorSize).ToArray());
        disk.Image = disk.Image with { Regions = regions, BatRegion = region };
        disk.Cache.ReplaceBat(bat, region);
    }
}
