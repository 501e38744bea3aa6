namespace HyperSharp.Cluster;

/// <summary>
/// A group asked to move to another node (Move-ClusterVirtualMachineRole, a drain, a failback), kept in etcd under its
/// name until the move ends: the owner moves it, and hands its owner key over only once the destination owns the VM.
/// While Moving, a failover that finds the group ownerless sends it to the destination (the VM may run there already).
/// </summary>
public sealed record MoveRecord
{
    public required string From { get; init; }
    public required string To { get; init; }
    public MoveState State { get; init; }
    /// <summary>Why the move failed (State Failed): the VM stayed on <see cref="From"/>.</summary>
    public string? Error { get; init; }
    /// <summary>Set by a drain: its moves go one at a time, highest priority first, and decide its DrainStatus.</summary>
    public bool Drain { get; init; }
}

/// <summary>Requested: written, not begun. Moving: the owner is migrating the VM. Failed: it stayed where it was.</summary>
public enum MoveState { Requested, Moving, Failed }
