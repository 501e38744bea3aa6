using System.Runtime.InteropServices;

namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// Test-VHD for VHDX: validates every structure independently (both headers, both region tables,
/// the log, the metadata, every BAT entry, block overlaps, the parent link) and reports each
/// problem with its structure and offset. With repair it fixes what is safe: a pending log is
/// replayed, a bad header or region-table copy is rewritten from the good one, and BAT entries
/// pointing outside the file (their data is not in the file) become ZERO through the log.
/// </summary>
public static class VhdxChecker
{
    public static CheckReport Check(string path, bool repair = false)
    {
        string full = Path.GetFullPath(path);
        var problems = new List<CheckProblem>();
        try
        {
            CheckFile(full, repair, problems);
        }
        catch (VirtualDiskException e)
        {
            problems.Add(new CheckProblem(CheckSeverity.Error, "image", 0, e.Message, false));
        }
        catch (IOException e)
        {
            problems.Add(new CheckProblem(CheckSeverity.Error, "file", 0, e.Message, false));
        }
        return new CheckReport(full, problems);
    }

    private static void CheckFile(string path, bool repair, List<CheckProblem> problems)
    {
        using (var handle = ImageFile.Open(path, FileAccess.Read, FileShare.Read, blockDeviceAllowed: false, "VHDX image"))
        {
            var storage = new VhdxStorage(path, handle, true);
            VhdxParser.CheckIdentifier(storage);
            CheckHeaderCopies(storage, problems);
            CheckRegionCopies(storage, problems);
            var (header, _) = VhdxParser.ReadHeaders(storage);
            if (header.LogGuid != Guid.Empty)
                problems.Add(new CheckProblem(CheckSeverity.Warning, "log", (long)header.LogOffset,
                    $"log {header.LogGuid:B} holds entries not yet replayed: the image was not closed cleanly", true));
        }
        if (repair && problems.Any(p => p.Repairable)) RepairCopiesAndLog(path, problems);

        // The rest is checked on the image as an open would see it (a pending log replayed in memory).
        using var h = ImageFile.Open(path, FileAccess.Read, FileShare.Read, blockDeviceAllowed: false, "VHDX image");
        var s = new VhdxStorage(path, h, true);
        var (current, slot) = VhdxParser.ReadHeaders(s);
        if (current.LogGuid != Guid.Empty) ReplayIntoOverlay(s, current);
        var image = VhdxParser.ReadImage(s, current, slot);
        var bat = new ulong[image.BatRegion.Length / 8];
        s.ReadMetadata(image.BatRegion.FileOffset, MemoryMarshal.AsBytes(bat.AsSpan()));
        var outside = new List<long>();
        foreach (var p in BatValidator.Validate(image, bat, s.Length))
        {
            bool beyondEnd = p.Message.Contains("beyond the end of the file", StringComparison.Ordinal);
            if (beyondEnd) outside.Add(p.Index);
            problems.Add(new CheckProblem(CheckSeverity.Error, $"BAT entry {p.Index}", p.EntryFileOffset, p.Message, beyondEnd));
        }
        CheckBatDetails(image, bat, problems);
        if (image.Geometry.HasParent) CheckParent(path, problems);
        h.Dispose();
        if (repair && outside.Count > 0) RepairBatEntries(path, image, bat, outside, problems);
    }

    private static void CheckHeaderCopies(VhdxStorage storage, List<CheckProblem> problems)
    {
        var buffer = new byte[VhdxFormat.HeaderSize];
        foreach (var (offset, name) in new[] { (VhdxFormat.Header1Offset, "header 1"), (VhdxFormat.Header2Offset, "header 2") })
        {
            storage.ReadData(offset, buffer);
            if (VhdxHeader.TryParse(buffer) is null)
                problems.Add(new CheckProblem(CheckSeverity.Warning, name, offset, "invalid signature or checksum; the other copy is in use", true));
        }
    }

    private static void CheckRegionCopies(VhdxStorage storage, List<CheckProblem> problems)
    {
        var t1 = new byte[VhdxFormat.RegionTableSize];
        var t2 = new byte[VhdxFormat.RegionTableSize];
        storage.ReadData(VhdxFormat.RegionTable1Offset, t1);
        storage.ReadData(VhdxFormat.RegionTable2Offset, t2);
        var e1 = RegionTable.TryParse(t1, out var err1);
        var e2 = RegionTable.TryParse(t2, out var err2);
        if (e1 is null) problems.Add(new CheckProblem(e2 is null ? CheckSeverity.Error : CheckSeverity.Warning, "region table 1", VhdxFormat.RegionTable1Offset, err1!, e2 is not null));
        if (e2 is null) problems.Add(new CheckProblem(e1 is null ? CheckSeverity.Error : CheckSeverity.Warning, "region table 2", VhdxFormat.RegionTable2Offset, err2!, e1 is not null));
        if (e1 is not null && e2 is not null && !e1.SequenceEqual(e2))
            problems.Add(new CheckProblem(CheckSeverity.Warning, "region table 2", VhdxFormat.RegionTable2Offset, "differs from region table 1 (table 1 is used)", true));
    }

    private static void ReplayIntoOverlay(VhdxStorage storage, VhdxHeader header)
    {
        var log = new byte[header.LogLength];
        storage.ReadData((long)header.LogOffset, log);
        var active = LogReplay.FindActive(log, header.LogGuid, out var error)
            ?? throw VhdxParser.Corrupt(storage, "log", (long)header.LogOffset, error!);
        storage.ApplyToOverlay(active.Writes);
    }

    /// <summary>Reserved bits, overlapping blocks, and partially present blocks without a sector bitmap.</summary>
    private static void CheckBatDetails(VhdxImage image, ulong[] bat, List<CheckProblem> problems)
    {
        var g = image.Geometry;
        var blocks = new List<(long Offset, long End, long Index)>();
        for (long i = 0; i < g.TotalBatEntries; i++)
        {
            ulong e = bat[i];
            long at = image.BatRegion.FileOffset + i * 8;
            if ((e & BatEntry.ReservedMask) != 0)
                problems.Add(new CheckProblem(CheckSeverity.Warning, $"BAT entry {i}", at, "reserved bits 3-19 are not zero", false));
            bool isBitmap = (i + 1) % (g.ChunkRatio + 1) == 0;
            var s = BatEntry.State(e);
            if (isBitmap ? s == BlockState.FullyPresent : BatEntry.HasData(s))
                blocks.Add((BatEntry.FileOffset(e), BatEntry.FileOffset(e) + (isBitmap ? VhdxFormat.SectorBitmapBlockSize : g.BlockSize), i));
            if (!isBitmap && s == BlockState.PartiallyPresent)
            {
                long chunk = (i - i / (g.ChunkRatio + 1)) / g.ChunkRatio;
                long bitmapIndex = g.BitmapIndex(chunk);
                if (bitmapIndex >= bat.Length || BatEntry.State(bat[bitmapIndex]) != BlockState.FullyPresent)
                    problems.Add(new CheckProblem(CheckSeverity.Error, $"BAT entry {i}", at, $"block is partially present but chunk {chunk} has no sector bitmap", false));
            }
        }
        blocks.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        for (int k = 1; k < blocks.Count; k++)
            if (blocks[k].Offset < blocks[k - 1].End)
                problems.Add(new CheckProblem(CheckSeverity.Error, $"BAT entry {blocks[k].Index}", image.BatRegion.FileOffset + blocks[k].Index * 8,
                    $"its block at 0x{blocks[k].Offset:X} overlaps the block of BAT entry {blocks[k - 1].Index}", false));
    }

    private static void CheckParent(string path, List<CheckProblem> problems)
    {
        try
        {
            using var disk = VhdxDisk.Open(path, DiskOpenOptions.ReadOnlyDefault);
        }
        catch (VirtualDiskException e) when (e is not CorruptImageException)
        {
            problems.Add(new CheckProblem(CheckSeverity.Error, "parent locator", 0, e.Message, false));
        }
    }

    private static void RepairCopiesAndLog(string path, List<CheckProblem> problems)
    {
        using var handle = ImageFile.Open(path, FileAccess.ReadWrite, FileShare.None, blockDeviceAllowed: false, "VHDX image");
        var storage = new VhdxStorage(path, handle, false);
        var (header, slot) = VhdxParser.ReadHeaders(storage);
        if (header.LogGuid != Guid.Empty)
        {
            handle.Dispose();
            using (VhdxDisk.Open(path, new DiskOpenOptions { OpenParent = false })) { } // a writable open replays the log
            Mark(problems, "log");
            using var h2 = ImageFile.Open(path, FileAccess.ReadWrite, FileShare.None, blockDeviceAllowed: false, "VHDX image");
            RepairHeadersAndTables(new VhdxStorage(path, h2, false), problems);
            return;
        }
        RepairHeadersAndTables(storage, problems);
    }

    private static void RepairHeadersAndTables(VhdxStorage storage, List<CheckProblem> problems)
    {
        var (header, slot) = VhdxParser.ReadHeaders(storage);
        if (problems.Any(p => p.Structure.StartsWith("header", StringComparison.Ordinal) && p.Repairable && !p.Repaired))
        {
            new HeaderWriter(storage, header, slot).Update(h => h); // rewrites both copies
            Mark(problems, "header 1");
            Mark(problems, "header 2");
        }
        var table = new byte[VhdxFormat.RegionTableSize];
        foreach (var (bad, good) in new[] { ("region table 1", VhdxFormat.RegionTable2Offset), ("region table 2", VhdxFormat.RegionTable1Offset) })
        {
            if (!problems.Any(p => p.Structure == bad && p.Repairable && !p.Repaired)) continue;
            // The good copy is the one in use, so rewriting the other needs no log: a torn write leaves it merely bad again.
            storage.ReadData(good, table);
            storage.Write(bad == "region table 1" ? VhdxFormat.RegionTable1Offset : VhdxFormat.RegionTable2Offset, table);
            storage.Flush();
            Mark(problems, bad);
        }
    }

    /// <summary>Sets BAT entries whose blocks are not in the file to ZERO, through a log entry of its own.</summary>
    private static void RepairBatEntries(string path, VhdxImage image, ulong[] bat, List<long> indices, List<CheckProblem> problems)
    {
        using var handle = ImageFile.Open(path, FileAccess.ReadWrite, FileShare.None, blockDeviceAllowed: false, "VHDX image");
        var storage = new VhdxStorage(path, handle, false);
        var (header, slot) = VhdxParser.ReadHeaders(storage);
        var writer = new HeaderWriter(storage, header, slot);
        writer.Update(h => h with { FileWriteGuid = Guid.NewGuid(), DataWriteGuid = Guid.NewGuid() });
        var pages = new SortedSet<long>();
        foreach (long i in indices)
        {
            bat[i] = BatEntry.Make(BlockState.Zero, 0);
            pages.Add(i * 8 / VhdxFormat.LogSectorSize);
        }
        var logPages = new List<LogPage>();
        foreach (long p in pages)
            logPages.Add(new LogPage(image.BatRegion.FileOffset + p * VhdxFormat.LogSectorSize,
                MemoryMarshal.AsBytes(bat.AsSpan()).Slice((int)(p * VhdxFormat.LogSectorSize), VhdxFormat.LogSectorSize).ToArray()));
        var logGuid = Guid.NewGuid();
        long size = storage.Length / VhdxFormat.MiB * VhdxFormat.MiB;
        var entry = LogEntryBuilder.Build(logGuid, 1, 0, size, VhdxFormat.RoundUp(storage.Length, VhdxFormat.MiB), logPages);
        if (entry.Length > header.LogLength) throw new VirtualDiskException($"{path}: too many BAT entries to repair in one log entry");
        storage.Write((long)header.LogOffset, entry);
        storage.Flush();
        writer.Update(h => h with { LogGuid = logGuid });
        foreach (var p in logPages) storage.Write(p.FileOffset, p.Data);
        storage.Flush();
        writer.Update(h => h with { LogGuid = Guid.Empty });
        foreach (long i in indices) Mark(problems, $"BAT entry {i}");
    }

    private static void Mark(List<CheckProblem> problems, string structure)
    {
        for (int i = 0; i < problems.Count; i++)
            if (problems[i].Structure == structure && problems[i].Repairable) problems[i] = problems[i] with { Repaired = true };
    }
}
