namespace HyperSharp.Inventory;

/// <summary>
/// One checkpoint of a VM, as kept in its configuration (vm.json): a node of the checkpoint tree. Its disks are the
/// files that hold each drive's contents at that instant (frozen: the VM went on in a new differencing child of each);
/// its configuration is the VM's as it was then (without checkpoints of its own); a checkpoint of a running VM also has
/// a saved-state file, which a restore starts the VM from.
/// </summary>
public sealed record CheckpointRecord
{
    public required Guid Id { get; init; }
    public required string Name { get; init; }
    /// <summary>The checkpoint this one was taken under (the one the VM was on then), null at the root of the tree.</summary>
    public Guid? ParentId { get; init; }
    public long CreationTimeUnixMs { get; init; }
    public List<CheckpointDisk> Disks { get; init; } = [];
    /// <summary>The VM's configuration when the checkpoint was taken; its Disks are the drives as they were attached then.</summary>
    public required VmConfiguration Configuration { get; init; }
    /// <summary>The memory, processor and device state of a VM checkpointed while it ran (a file in the VM's folder); null for a VM that was off.</summary>
    public string? SavedStateFile { get; init; }
    /// <summary>A production checkpoint: the running guest's file systems were frozen by its agent for it, and no memory was kept (absent, false, in older files).</summary>
    public bool Production { get; init; }
}

/// <summary>One drive of a checkpoint: where it was attached and the file that holds its contents at the checkpoint.</summary>
public sealed record CheckpointDisk
{
    public required DiskSettings Drive { get; init; }
    /// <summary>The frozen image: the drive's contents at the checkpoint (the VM's new differencing child has it as parent).</summary>
    public required string Path { get; init; }
}
