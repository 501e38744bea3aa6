using V1 = HyperSharp.Api.V1;

namespace HyperSharp.PowerShell;

// The FailoverClusters module's objects under their own names and values, so `$node.State -eq 'Up'` and
// `$group.Priority -eq 3000` read as they do against a Windows cluster.

/// <summary>Get-ClusterNode's State.</summary>
public enum ClusterNodeState { Up = 0, Down = 1, Paused = 2, Joining = 3, Unknown = -1 }

/// <summary>Get-ClusterNode's DrainStatus.</summary>
public enum NodeDrainStatus { NotInitiated = 0, InProgress = 1, Completed = 2, Failed = 3, Unknown = -1 }

/// <summary>Get-ClusterGroup's State.</summary>
public enum ClusterGroupState { Online = 0, Offline = 1, Failed = 2, PartialOnline = 3, Pending = 4, Unknown = -1 }

/// <summary>Get-Cluster's object.</summary>
public sealed class Cluster
{
    public required string Name { get; init; }
    public required int ClusterFunctionalLevel { get; init; }
    /// <summary>Milliseconds between heartbeats.</summary>
    public required int SameSubnetDelay { get; init; }
    /// <summary>Heartbeats missed before a node is down.</summary>
    public required int SameSubnetThreshold { get; init; }
    /// <summary>HyperSharp's own: the node that answered, and where the cluster's etcd is.</summary>
    public required string ThisNode { get; init; }
    public required string[] EtcdEndpoints { get; init; }

    public override string ToString() => Name;
}

/// <summary>Get-ClusterNode's object.</summary>
public sealed class ClusterNode
{
    public required string Name { get; init; }
    public required ClusterNodeState State { get; init; }
    /// <summary>The node's number in the cluster, as a string as Windows gives it.</summary>
    public required string Id { get; init; }
    public required long FreeMemoryBytes { get; init; }
    /// <summary>How the last Suspend-ClusterNode -Drain went; HyperSharp's own DrainError says which groups stayed and why.</summary>
    public required NodeDrainStatus DrainStatus { get; init; }
    public required string? DrainError { get; init; }

    public override string ToString() => Name;
}

/// <summary>Get-ClusterGroup's object (a clustered VM role). OwnerNode is the node's name.</summary>
public sealed class ClusterGroup
{
    public required string Name { get; init; }
    public required string OwnerNode { get; init; }
    public required ClusterGroupState State { get; init; }
    /// <summary>3000 High, 2000 Medium, 1000 Low, 0 No Auto Start.</summary>
    public required uint Priority { get; init; }
    public string GroupType => "VirtualMachine";
    public required Guid VMId { get; init; }
    /// <summary>HyperSharp's own: the VM's folder on the shared storage, and why the group failed if it did.</summary>
    public required string VMFolder { get; init; }
    public required string? Error { get; init; }
    /// <summary>Groups that share a name are kept on different nodes while other nodes have room.</summary>
    public required string[] AntiAffinityClassNames { get; init; }

    public override string ToString() => Name;
}

/// <summary>Get-ClusterOwnerNode's object: a group and its preferred owners, in order.</summary>
public sealed class ClusterOwnerNodeList
{
    public required string ClusterObject { get; init; }
    public required string[] OwnerNodes { get; init; }

    public override string ToString() => ClusterObject;
}

/// <summary>The API's cluster messages as the module's objects.</summary>
internal static class ClusterConversions
{
    public static Cluster ToObject(this V1.ClusterInfo c) => new()
    {
        Name = c.Name, ClusterFunctionalLevel = c.ClusterFunctionalLevel, SameSubnetDelay = c.SameSubnetDelayMs,
        SameSubnetThreshold = c.SameSubnetThreshold, ThisNode = c.ThisNode, EtcdEndpoints = [.. c.EtcdEndpoints],
    };

    public static ClusterNode ToObject(this V1.ClusterNodeInfo n) => new()
    {
        Name = n.Name, State = Enum.TryParse<ClusterNodeState>(n.State, out var s) ? s : ClusterNodeState.Unknown,
        Id = n.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), FreeMemoryBytes = n.FreeMemoryBytes,
        DrainStatus = Enum.TryParse<NodeDrainStatus>(n.DrainStatus, out var d) ? d : NodeDrainStatus.Unknown,
        DrainError = n.DrainError.Length > 0 ? n.DrainError : null,
    };

    public static ClusterGroup ToObject(this V1.ClusterGroup g) => new()
    {
        Name = g.Name, OwnerNode = g.OwnerNode, State = Enum.TryParse<ClusterGroupState>(g.State, out var s) ? s : ClusterGroupState.Unknown,
        Priority = (uint)g.Priority, VMId = Guid.TryParse(g.VmId, out var id) ? id : Guid.Empty, VMFolder = g.VmFolder,
        Error = g.Error.Length > 0 ? g.Error : null, AntiAffinityClassNames = [.. g.AntiAffinityClassNames],
    };

    public static ClusterOwnerNodeList ToOwnerList(this V1.ClusterGroup g) => new() { ClusterObject = g.Name, OwnerNodes = [.. g.PreferredOwners] };
}
