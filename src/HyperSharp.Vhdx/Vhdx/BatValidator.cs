namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// Checks every BAT entry of an opened image against the file: a valid state for the disk type,
/// and for blocks with data a file offset after the header section, inside the file, and clear
/// of the log, BAT and metadata regions. Reports the entry's index and file offset.
/// </summary>
internal static class BatValidator
{
    public readonly record struct Problem(long Index, long EntryFileOffset, string Message);

    public static IEnumerable<Problem> Validate(VhdxImage image, ulong[] bat, long fileLength)
    {
        var g = image.Geometry;
        var fixedRanges = new List<(long Start, long End, string Name)>
        {
            (0, VhdxFormat.HeaderSectionSize, "the header section"),
            ((long)image.Header.LogOffset, (long)image.Header.LogOffset + image.Header.LogLength, "the log"),
            (image.BatRegion.FileOffset, image.BatRegion.FileOffset + image.BatRegion.Length, "the BAT region"),
            (image.MetadataRegion.FileOffset, image.MetadataRegion.FileOffset + image.MetadataRegion.Length, "the metadata region"),
        };
        bool diff = g.HasParent;
        long total = g.TotalBatEntries;
        // File space in use, by MiB (blocks and regions are MiB-aligned): two BAT entries must never share space.
        var used = new System.Collections.BitArray((int)Math.Min(int.MaxValue - 64, fileLength / VhdxFormat.MiB + 1));
        for (long i = 0; i < total; i++)
        {
            ulong e = bat[i];
            var state = BatEntry.State(e);
            bool isBitmap = (i + 1) % (g.ChunkRatio + 1) == 0;
            long at = image.BatRegion.FileOffset + i * 8;
            string what = isBitmap ? $"BAT entry {i} (sector bitmap of chunk {i / (g.ChunkRatio + 1)})" : $"BAT entry {i} (payload block {i - i / (g.ChunkRatio + 1)})";
            if (isBitmap ? !BatEntry.IsValidBitmapState(state, diff) : !BatEntry.IsValidPayloadState(state, diff))
            {
                yield return new Problem(i, at, $"{what} has state {(int)state}, not valid in a {image.Type.ToString().ToLowerInvariant()} disk");
                continue;
            }
            bool hasData = isBitmap ? state == BlockState.FullyPresent : BatEntry.HasData(state);
            if (!hasData) continue;
            long offset = BatEntry.FileOffset(e);
            long size = isBitmap ? VhdxFormat.SectorBitmapBlockSize : g.BlockSize;
            if (offset < 0 || offset > fileLength - size) // offset < 0: a FileOffsetMB of 2^43 or more overflows
            {
                yield return new Problem(i, at, $"{what} points to 0x{offset:X}, whose {size}-byte block ends beyond the end of the file ({fileLength} bytes)");
                continue;
            }
            foreach (var (start, end, name) in fixedRanges)
                if (offset < end && start < offset + size)
                    yield return new Problem(i, at, $"{what} points to 0x{offset:X}, which overlaps {name}");
            for (long mib = offset / VhdxFormat.MiB; mib < (offset + size) / VhdxFormat.MiB; mib++)
            {
                if (used[(int)mib])
                {
                    yield return new Problem(i, at, $"{what} points to 0x{offset:X}, whose {size}-byte block overlaps the block of an earlier BAT entry");
                    break;
                }
                used[(int)mib] = true;
            }
        }
    }

    /// <summary>
    /// An unmapped block may keep the file offset of its (punched) space for reuse. Where that
    /// offset is unusable — beyond the file, inside the header section, log, BAT or metadata, or
    /// overlapping a block in use or another retained space — the offset is dropped (in memory), so
    /// a later write allocates fresh space instead of overwriting something else.
    /// </summary>
    public static void DropUnusableUnmappedOffsets(VhdxImage image, ulong[] bat, long fileLength)
    {
        var g = image.Geometry;
        var used = new System.Collections.BitArray((int)Math.Min(int.MaxValue - 64, fileLength / VhdxFormat.MiB + 1));
        void Mark(long start, long end)
        {
            for (long mib = start / VhdxFormat.MiB; mib < Math.Min(VhdxFormat.RoundUp(end, VhdxFormat.MiB) / VhdxFormat.MiB, used.Length); mib++) used[(int)mib] = true;
        }
        Mark(0, VhdxFormat.HeaderSectionSize);
        Mark((long)image.Header.LogOffset, (long)image.Header.LogOffset + image.Header.LogLength);
        foreach (var r in image.Regions) Mark(r.FileOffset, r.FileOffset + r.Length);
        for (long i = 0; i < g.TotalBatEntries; i++)
        {
            bool isBitmap = (i + 1) % (g.ChunkRatio + 1) == 0;
            var state = BatEntry.State(bat[i]);
            if (isBitmap ? state == BlockState.FullyPresent : BatEntry.HasData(state))
                Mark(BatEntry.FileOffset(bat[i]), BatEntry.FileOffset(bat[i]) + (isBitmap ? VhdxFormat.SectorBitmapBlockSize : g.BlockSize));
        }
        for (long i = 0; i < g.TotalBatEntries; i++)
        {
            if ((i + 1) % (g.ChunkRatio + 1) == 0 || BatEntry.State(bat[i]) != BlockState.Unmapped || BatEntry.FileOffset(bat[i]) == 0) continue;
            long offset = BatEntry.FileOffset(bat[i]), end = offset + g.BlockSize;
            bool usable = offset > 0 && offset <= fileLength - g.BlockSize;
            for (long mib = offset / VhdxFormat.MiB; usable && mib < end / VhdxFormat.MiB; mib++) usable = !used[(int)mib];
            if (usable) Mark(offset, end);
            else bat[i] = BatEntry.Make(BlockState.Unmapped, 0);
        }
    }
}
