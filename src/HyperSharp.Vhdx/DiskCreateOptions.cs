namespace HyperSharp.Vhdx;

/// <summary>
/// What to create. Defaults follow Hyper-V's New-VHD: dynamic, 32 MiB blocks for VHDX (2 MiB for
/// VHD and for differencing VHDX), 512-byte logical and 4096-byte physical sectors.
/// </summary>
public sealed record DiskCreateOptions
{
    public DiskFormat Format { get; init; } = DiskFormat.Vhdx;

    public DiskType Type { get; init; } = DiskType.Dynamic;

    /// <summary>Virtual size in bytes. Ignored for differencing disks (the parent's size is used).</summary>
    public long Capacity { get; init; }

    /// <summary>Block size in bytes; 0 picks the format's default.</summary>
    public int BlockSize { get; init; }

    public int LogicalSectorSize { get; init; } = 512;

    /// <summary>0 picks the default: 4096 for VHDX, 512 for VHD (which has no such field).</summary>
    public int PhysicalSectorSize { get; init; }

    /// <summary>Parent image for a differencing disk.</summary>
    public string? ParentPath { get; init; }

    /// <summary>Overwrite an existing file instead of refusing.</summary>
    public bool Overwrite { get; init; }

    public const int DefaultVhdxBlockSize = 32 * 1024 * 1024;
    public const int DefaultVhdxDifferencingBlockSize = 2 * 1024 * 1024;
    public const int DefaultVhdBlockSize = 2 * 1024 * 1024;
}
