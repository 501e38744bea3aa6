namespace HyperSharp.Vhdx.Operations;

/// <summary>
/// Optimize-VHD for every format, by rewriting: the image is copied into a new file of the same
/// shape (same parent for a differencing disk) without its zero blocks, which then replaces it.
/// The engine's in-place compaction (VhdxDisk.Compact) keeps the file's identity and needs no
/// second copy; this rewrite gives the file a new DiskIdentifier and DataWriteGuid, so
/// differencing disks whose parent is this image must be merged or recreated afterwards.
/// </summary>
public static class DiskCompact
{
    /// <summary>
    /// Optimize-VHD: VHDX images are compacted in place (<see cref="Vhdx.VhdxDisk.Compact"/>: zero blocks
    /// released, tail blocks moved into holes, the file cut), keeping their identity so differencing
    /// children stay valid; other formats are rewritten (<see cref="Rewrite"/>). Progress counts bytes
    /// of the capacity done. Returns the file sizes before and after.
    /// </summary>
    public static (long Before, long After) Optimize(string path, IProgress<long>? progress = null, CancellationToken cancel = default)
    {
        if (VirtualDisk.Identify(path) != DiskFormat.Vhdx) return Rewrite(path, progress, cancel);
        using var vhdx = Vhdx.VhdxDisk.Open(path, new DiskOpenOptions { OpenParent = false });
        var result = vhdx.Compact(progress);
        return (result.FileSizeBefore, result.FileSizeAfter);
    }

    /// <summary>Compacts the image at <paramref name="path"/>; returns the file sizes before and after.</summary>
    public static (long Before, long After) Rewrite(string path, IProgress<long>? progress = null, CancellationToken cancel = default)
    {
        string full = Path.GetFullPath(path);
        long before = new FileInfo(full).Length;
        using (var staged = new StagedFile(full, overwrite: true))
        {
            using (var source = VirtualDisk.Open(full, DiskOpenOptions.ReadOnlyDefault))
            {
                if (source.Type == DiskType.Fixed && source.Format != DiskFormat.Raw)
                    throw new VirtualDiskException($"{full}: a fixed image keeps every block allocated; convert it to dynamic to make it smaller");
                var create = Shape(source);
                using var target = VirtualDisk.Create(staged.TempPath, create);
                // A differencing target must hide its parent where this layer reads zeros, so it is not
                // "fresh": zero runs are unmapped there (BAT state ZERO) instead of skipped.
                bool differencing = source.Type == DiskType.Differencing;
                IReadOnlyList<IVirtualDisk> layers = differencing ? [source] : DiskChain.Layers(source);
                new ExtentCopier(layers, target, targetIsFresh: !differencing, progress).Copy(source.Capacity, cancel);
                target.Flush();
            }
            staged.Commit();
        }
        return (before, new FileInfo(full).Length);
    }

    private static DiskCreateOptions Shape(IVirtualDisk source) => new()
    {
        Format = source.Format,
        Type = source.Format == DiskFormat.Raw ? DiskType.Dynamic : source.Type,
        Capacity = source.Capacity,
        BlockSize = source is Vhdx.VhdxDisk v ? v.BlockSize : 0,
        LogicalSectorSize = source.LogicalSectorSize,
        PhysicalSectorSize = source.Format == DiskFormat.Vhdx ? source.PhysicalSectorSize : 0,
        ParentPath = source.Parent?.Path,
        Overwrite = true,
    };
}
