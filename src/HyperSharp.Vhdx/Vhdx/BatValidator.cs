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
            if (offset + size > fileLength)
            {
                yield return new Problem(i, at, $"{what} points to 0x{offset:X}, whose {size}-byte block ends beyond the end of the file ({fileLength} bytes)");
                continue;
            }
            foreach (var (start, end, name) in fixedRanges)
                if (offset < end && start < offset + size)
                    yield return new Problem(i, at, $"{what} points to 0x{offset:X}, which overlaps {name}");
        }
    }
}
