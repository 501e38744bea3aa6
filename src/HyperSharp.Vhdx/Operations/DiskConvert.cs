namespace HyperSharp.Vhdx.Operations;

/// <summary>
/// Convert-VHD: copies what a disk shows (its whole parent chain resolved) into a new image of
/// any format and type. Holes and zero buffers are skipped; the new image is built under a
/// temporary name and renamed into place at the end.
/// </summary>
public static class DiskConvert
{
    /// <summary>Opens <paramref name="sourcePath"/> read-only (its format from its name, or options.SourceFormat) and converts it.</summary>
    public static void Convert(string sourcePath, string targetPath, ConvertOptions? options = null,
        IProgress<long>? progress = null, CancellationToken cancel = default)
    {
        using var source = VirtualDisk.Open(sourcePath, DiskOpenOptions.ReadOnlyDefault, options?.SourceFormat);
        Convert(source, targetPath, options, progress, cancel);
    }

    /// <summary>Converts an open disk; progress counts bytes of the source's capacity done.</summary>
    public static void Convert(IVirtualDisk source, string targetPath, ConvertOptions? options = null,
        IProgress<long>? progress = null, CancellationToken cancel = default)
    {
        options ??= new ConvertOptions();
        foreach (var layer in DiskChain.Layers(source))
            if (Path.GetFullPath(targetPath) == layer.Path)
                throw new VirtualDiskException($"{targetPath}: the target is the source or in its parent chain; convert to another file");
        var create = TargetOptions(source, targetPath, options);
        using var staged = new StagedFile(targetPath, options.Overwrite);
        using (var target = VirtualDisk.Create(staged.TempPath, create))
        {
            new ExtentCopier(DiskChain.Layers(source), target, targetIsFresh: true, progress).Copy(source.Capacity, cancel);
            target.Flush();
        }
        staged.Commit();
    }

    /// <summary>The creation options for the target: the caller's choices, else the source's shape.</summary>
    internal static DiskCreateOptions TargetOptions(IVirtualDisk source, string targetPath, ConvertOptions options)
    {
        var format = options.Format ?? VirtualDisk.FormatFromExtension(targetPath);
        var type = options.Type ?? (source.Type == DiskType.Fixed && source.Format != DiskFormat.Raw ? DiskType.Fixed : DiskType.Dynamic);
        if (type == DiskType.Differencing)
            throw new VirtualDiskException("a convert makes a fixed or dynamic image, not a differencing one (create a differencing disk with `vhd new --parent`)");
        // VHD has only 512-byte sectors; raw keeps nothing, so it gets the defaults.
        int logical = options.LogicalSectorSize ?? (format == DiskFormat.Vhd ? 512 : source.LogicalSectorSize);
        long capacity = options.Capacity ?? source.Capacity;
        if (capacity < source.Capacity)
            throw new VirtualDiskException($"the new capacity {capacity} is smaller than the source's {source.Capacity} bytes; shrink the source with resize first");
        // Image formats hold whole sectors (qemu-img rounds up the same way); raw keeps the exact size.
        if (format != DiskFormat.Raw) capacity = (capacity + logical - 1) / logical * logical;
        return new DiskCreateOptions
        {
            Format = format,
            Type = type,
            Capacity = capacity,
            BlockSize = options.BlockSize,
            LogicalSectorSize = logical,
            PhysicalSectorSize = options.PhysicalSectorSize ?? (format == DiskFormat.Vhdx ? source.PhysicalSectorSize : 0),
            Overwrite = true, // the staged temporary name is fresh; the final name was checked already
        };
    }
}
