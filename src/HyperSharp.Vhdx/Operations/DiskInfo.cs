using HyperSharp.Vhdx.Vhdx;

namespace HyperSharp.Vhdx.Operations;

/// <summary>What `hyper vhd info` and Get-VHD show about an image: its shape, its file and its parent.</summary>
public sealed record DiskInfo
{
    public required string Path { get; init; }
    public required DiskFormat Format { get; init; }
    public required DiskType Type { get; init; }
    /// <summary>Virtual size in bytes (Get-VHD's Size).</summary>
    public required long Capacity { get; init; }
    /// <summary>Size of the image file in bytes.</summary>
    public required long FileSize { get; init; }
    /// <summary>Bytes of the virtual disk stored in this file (not in a parent, not holes).</summary>
    public required long AllocatedBytes { get; init; }
    /// <summary>
    /// The smallest capacity a shrink keeps every stored byte at (Get-VHD's MinimumSize): the end of the
    /// last data in any layer of the chain, rounded up to 1 MiB (partition alignment), at most the capacity.
    /// Hyper-V reads the partition table for this; we look at the data itself, which works for any content.
    /// </summary>
    public required long MinimumSize { get; init; }
    /// <summary>Payload block size; null for formats without blocks (raw).</summary>
    public int? BlockSize { get; init; }
    public required int LogicalSectorSize { get; init; }
    public required int PhysicalSectorSize { get; init; }
    /// <summary>The resolved parent file of a differencing disk.</summary>
    public string? ParentPath { get; init; }
    /// <summary>The parent locator as stored (VHDX), to diagnose a parent that cannot be found.</summary>
    public IReadOnlyDictionary<string, string>? ParentLocator { get; init; }
    /// <summary>Why the parent could not be opened, when it could not.</summary>
    public string? ParentProblem { get; init; }
    /// <summary>Number of images in the chain, this one included.</summary>
    public required int ChainDepth { get; init; }
    /// <summary>Hyper-V's DiskIdentifier (VHDX Virtual Disk ID); null where the format has none.</summary>
    public Guid? DiskIdentifier { get; init; }
    /// <summary>Not computed yet: needs the engine to expose block file offsets (null until then).</summary>
    public int? FragmentationPercentage { get; init; }
    /// <summary>True when opening the image found a pending log (it was replayed in memory; the file is unchanged).</summary>
    public bool LogPending { get; init; }

    /// <summary>
    /// Reads an image's information without writing to it. A missing parent is reported, not thrown; a path
    /// that is not an image of its format (see <see cref="VirtualDisk.Identify"/>) is refused.
    /// </summary>
    /// <param name="format">the format, when not the file extension's (a block device is described only as raw)</param>
    public static DiskInfo Read(string path, DiskFormat? format = null)
    {
        VirtualDisk.Identify(path, format); // the file itself must be an image; only its parent's problems are reported
        IVirtualDisk disk;
        string? parentProblem = null;
        try
        {
            disk = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault, format);
        }
        catch (VirtualDiskException e) when (e is not CorruptImageException)
        {
            // Most often a parent that moved or changed: describe the child alone and say why.
            disk = VirtualDisk.Open(path, new DiskOpenOptions { ReadOnly = true, OpenParent = false }, format);
            if (disk.Type != DiskType.Differencing) { disk.Dispose(); throw; }
            parentProblem = e.Message;
        }
        using (disk) return From(disk, parentProblem);
    }

    /// <summary>Describes an open disk.</summary>
    public static DiskInfo From(IVirtualDisk disk, string? parentProblem = null)
    {
        var vhdx = disk as VhdxDisk;
        return new DiskInfo
        {
            Path = disk.Path,
            Format = disk.Format,
            Type = disk.Type,
            Capacity = disk.Capacity,
            FileSize = disk.Format == DiskFormat.Raw && ImageFile.KindOf(disk.Path) == ImageFileKind.BlockDevice ? disk.Capacity : new FileInfo(disk.Path).Length,
            AllocatedBytes = Allocated(disk),
            MinimumSize = MinimumSizeOf(disk),
            BlockSize = vhdx?.BlockSize,
            LogicalSectorSize = disk.LogicalSectorSize,
            PhysicalSectorSize = disk.PhysicalSectorSize,
            ParentPath = disk.Parent?.Path,
            ParentLocator = vhdx is { Type: DiskType.Differencing } ? new SortedDictionary<string, string>(vhdx.ParentLocatorEntries.ToDictionary(), StringComparer.Ordinal) : null,
            ParentProblem = parentProblem,
            ChainDepth = DiskChain.Layers(disk).Count,
            DiskIdentifier = vhdx?.VirtualDiskId,
            LogPending = vhdx?.ReplayedLog ?? false,
        };
    }

    private static long MinimumSizeOf(IVirtualDisk disk)
    {
        const long MiB = 1 << 20;
        long end = 0;
        foreach (var layer in DiskChain.Layers(disk))
        {
            long offset = 0, capacity = Math.Min(layer.Capacity, disk.Capacity);
            while (offset < capacity)
            {
                var extent = layer.GetExtent(offset);
                if (extent.Length <= 0) break;
                if (extent.State == ExtentState.Data) end = Math.Max(end, Math.Min(extent.Offset + extent.Length, capacity));
                offset = extent.Offset + extent.Length;
            }
        }
        return Math.Min(Math.Max((end + MiB - 1) / MiB * MiB, MiB), disk.Capacity);
    }

    /// <summary>Sums this layer's data extents (works for every format through the disk contract).</summary>
    private static long Allocated(IVirtualDisk disk)
    {
        long total = 0, offset = 0, capacity = disk.Capacity;
        while (offset < capacity)
        {
            var extent = disk.GetExtent(offset);
            if (extent.Length <= 0) break;
            if (extent.State == ExtentState.Data) total += extent.Length;
            offset = extent.Offset + extent.Length;
        }
        return total;
    }
}
