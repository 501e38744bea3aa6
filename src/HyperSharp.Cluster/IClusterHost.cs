namespace HyperSharp.Cluster;

/// <summary>What a node's host does for the cluster: its VMs started, turned off and looked at, in its own terms.</summary>
public interface IClusterHost
{
    /// <summary>Memory this host can still give to VMs.</summary>
    long FreeMemoryBytes();

    /// <summary>Whether the VM runs here now.</summary>
    bool IsRunning(Guid vmId);

    /// <summary>Starts the group's VM here, registering it from its folder first if this host does not know it yet.</summary>
    Task StartAsync(GroupRecord group, CancellationToken cancel);

    /// <summary>Turns the VM off at once (no guest shutdown): fencing and Stop-ClusterGroup.</summary>
    Task TurnOffAsync(Guid vmId);
}
