using V1 = HyperSharp.Api.V1;

namespace HyperSharp.PowerShell;

/// <summary>Hyper-V's kinds of checkpoint (its SnapshotType), of those HyperSharp takes.</summary>
public enum SnapshotType { Standard, Production }

/// <summary>Get-VMSnapshot's object (a checkpoint), with Hyper-V's property names.</summary>
public sealed class VMSnapshot
{
    public required string ComputerName { get; init; }
    public required string Name { get; init; }
    public required Guid Id { get; init; }
    public required string VMName { get; init; }
    public required Guid VMId { get; init; }
    public required SnapshotType SnapshotType { get; init; }
    public required string ParentSnapshotName { get; init; }
    public required Guid? ParentSnapshotId { get; init; }
    public required DateTime CreationTime { get; init; }
    /// <summary>The folder holding the checkpoint's files (its saved state; the disks sit beside the drives' own).</summary>
    public required string Path { get; init; }
    /// <summary>Each drive's image at the checkpoint.</summary>
    public required string[] HardDrivePaths { get; init; }
    /// <summary>Whether the checkpoint holds the VM's memory and device state (taken while it ran).</summary>
    public required bool HasSavedState { get; init; }
    /// <summary>Whether the VM's current state descends from this checkpoint (Hyper-V shows it as "Now" below it).</summary>
    public required bool IsCurrent { get; init; }

    public override string ToString() => $"VMSnapshot (Name = '{Name}', VMName = '{VMName}') [Id = '{Id}']";

    internal static VMSnapshot From(V1.VmCheckpoint c, string computerName) => new()
    {
        ComputerName = computerName, Name = c.Name, Id = Guid.Parse(c.Id), VMName = c.VmName, VMId = Guid.Parse(c.VmId),
        SnapshotType = c.Kind == V1.CheckpointKind.Production ? SnapshotType.Production : SnapshotType.Standard,
        ParentSnapshotName = c.ParentName, ParentSnapshotId = c.ParentId.Length == 0 ? null : Guid.Parse(c.ParentId),
        CreationTime = DateTimeOffset.FromUnixTimeMilliseconds(c.CreationTimeUnixMs).LocalDateTime,
        Path = c.Path, HardDrivePaths = [.. c.DiskPaths], HasSavedState = c.HasSavedState, IsCurrent = c.IsCurrent,
    };

    internal V1.CheckpointRef ToRef() => new() { Vm = new V1.VmRef { Id = VMId.ToString("D") }, Id = Id.ToString("D") };
}
