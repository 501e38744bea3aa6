using HyperSharp.Vhdx.Vhdx;

namespace HyperSharp.Vhdx.Operations;

/// <summary>
/// What Test-VHD and `vhd check` run. VHDX images get the full structure checker (Test-VHD,
/// <see cref="VhdxChecker"/>): every structure validated on its own, each problem with its
/// structure and file offset, safe repairs. Other formats get an open-and-walk check: opening
/// validates their structures (and the parent chain), walking every extent reads every bitmap.
/// </summary>
public static class DiskCheck
{
    public const string CheckerName = "open-and-walk";
    public const string VhdxCheckerName = "VhdxChecker (Test-VHD)";

    /// <summary>
    /// Checks the image at <paramref name="path"/>. A path that is not an image of its format (a FIFO, a device,
    /// a .vhdx without the VHDX signature) is refused with <see cref="VirtualDiskException"/>, not reported as checked.
    /// </summary>
    /// <param name="format">the format, when not the file extension's (a block device is checked only as raw)</param>
    public static DiskCheckReport Run(string path, bool repair, DiskFormat? format = null)
    {
        string full = Path.GetFullPath(path);
        var resolved = VirtualDisk.Identify(full, format);
        if (resolved == DiskFormat.Vhdx) return RunVhdxChecker(full, repair);
        var problems = new List<DiskCheckProblem>();
        try
        {
            using var disk = VirtualDisk.Open(full, DiskOpenOptions.ReadOnlyDefault, format);
            bool logPending = disk is VhdxDisk { ReplayedLog: true };
            for (var layer = disk; layer is not null; layer = layer.Parent) WalkExtents(layer);
            if (logPending)
            {
                // A pending log is normal after a crash, but other tools (qemu-img) refuse the file until it is replayed.
                bool repaired = false;
                if (repair) { disk.Dispose(); using var writable = VirtualDisk.Open(full, format: format); repaired = true; }
                problems.Add(new DiskCheckProblem("log", 0, "the metadata log holds updates not yet applied to the file (the image was not closed cleanly)", repaired));
            }
        }
        catch (CorruptImageException e)
        {
            problems.Add(new DiskCheckProblem(e.Structure, e.FileOffset, e.Message, false));
        }
        catch (VirtualDiskException e)
        {
            problems.Add(new DiskCheckProblem("image", 0, e.Message, false));
        }
        bool ok = problems.TrueForAll(p => p.Repaired);
        return new DiskCheckReport(full, ok, problems, CheckerName);
    }

    private static DiskCheckReport RunVhdxChecker(string path, bool repair)
    {
        var report = VhdxChecker.Check(path, repair);
        var problems = report.Problems
            .Select(p => new DiskCheckProblem(p.Structure, p.FileOffset, p.Message, p.Repaired, p.Severity.ToString().ToLowerInvariant()))
            .ToList();
        return new DiskCheckReport(report.Path, report.IsValid, problems, VhdxCheckerName);
    }

    private static void WalkExtents(IVirtualDisk disk)
    {
        long offset = 0, capacity = disk.Capacity;
        while (offset < capacity)
        {
            var extent = disk.GetExtent(offset);
            if (extent.Length <= 0) throw new VirtualDiskException($"{disk.Path}: empty extent reported at offset {offset}");
            offset = extent.Offset + extent.Length;
        }
    }
}
