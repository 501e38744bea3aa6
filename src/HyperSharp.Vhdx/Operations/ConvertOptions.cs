namespace HyperSharp.Vhdx.Operations;

/// <summary>
/// What a converted image looks like. Every null property keeps the source's value (capacity,
/// sector sizes) or follows Convert-VHD's defaults (format from the file extension; the source's
/// type, with differencing and raw sources becoming dynamic).
/// </summary>
public sealed record ConvertOptions
{
    /// <summary>The target's format; null: from the target's extension.</summary>
    public DiskFormat? Format { get; init; }

    /// <summary>The source's format when not its extension's (a block device is read only as raw, given here).</summary>
    public DiskFormat? SourceFormat { get; init; }

    /// <summary>Fixed or dynamic; differencing cannot be the result of a convert.</summary>
    public DiskType? Type { get; init; }

    /// <summary>Capacity in bytes; may grow the disk, never shrink it (resize first for that).</summary>
    public long? Capacity { get; init; }

    /// <summary>0 picks the format's default.</summary>
    public int BlockSize { get; init; }

    public int? LogicalSectorSize { get; init; }

    public int? PhysicalSectorSize { get; init; }

    /// <summary>Replace an existing target file.</summary>
    public bool Overwrite { get; init; }
}
