namespace HyperSharp.Vhdx;

/// <summary>How to open an existing image.</summary>
public sealed record DiskOpenOptions
{
    /// <summary>Open without ever writing to the file (a pending log is replayed in memory).</summary>
    public bool ReadOnly { get; init; }

    /// <summary>
    /// Open for several writers at once (a guest cluster's shared disk, attached to more than one VM): the file is not
    /// locked against other openers. Only images whose writes never change their metadata qualify — raw, and fixed VHD
    /// or VHDX — since two writers allocating blocks of a dynamic or differencing image would corrupt it; others are refused.
    /// </summary>
    public bool Shared { get; init; }

    /// <summary>Open a differencing disk's parent chain (on by default). Off only for inspecting one file.</summary>
    public bool OpenParent { get; init; } = true;

    /// <summary>Skip the parent's DataWriteGuid check against parent_linkage (for repairing a chain).</summary>
    public bool IgnoreParentIdentity { get; init; }

    public static DiskOpenOptions Default { get; } = new();
    public static DiskOpenOptions ReadOnlyDefault { get; } = new() { ReadOnly = true };
}
