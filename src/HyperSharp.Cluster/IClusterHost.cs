namespace HyperSharp.Cluster;

/// <summary>What a node's host does for the cluster: its VMs started, turned off and looked at, in its own terms.</summary>
public interface IClusterHost
{
    /// <summary>Where this host takes live migrations (HOST:PORT of its mutual TLS endpoint), or null when it takes none.</summary>
    string? MigrationAddress { get; }

    /// <summary>
    /// Live-migrates the VM to the host at <paramref name="destination"/>, its folder staying on shared storage; returns
    /// once the destination runs it. Throws if it did not move (then it still runs here).
    /// </summary>
    Task MoveAsync(Guid vmId, string destination, CancellationToken cancel);

    /// <summary>Memory this host can still give to VMs.</summary>
    long FreeMemoryBytes();

    /// <summary>Whether the VM runs here now.</summary>
    bool IsRunning(Guid vmId);

    /// <summary>Starts the group's VM here, registering it from its folder first if this host does not know it yet.</summary>
    Task StartAsync(GroupRecord group, CancellationToken cancel);

    /// <summary>Turns the VM off at once (no guest shutdown): Stop-ClusterGroup, a node leaving.</summary>
    Task TurnOffAsync(Guid vmId);

    /// <summary>
    /// The fence: the VM stopped at once whatever it is doing (another operation in progress included), its worker
    /// gone when this completes. Asks nothing of etcd.
    /// </summary>
    Task FenceAsync(Guid vmId);

    /// <summary>
    /// Drops a VM another node owns from this host's list (a node back after it failed still lists the VMs it ran): off
    /// first if it runs here, then unlisted, its folder left whole. False when this host does not list it.
    /// </summary>
    Task<bool> ForgetAsync(Guid vmId);
}
