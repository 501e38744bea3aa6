using System.Text.Json;
using System.Text.Json.Serialization;

namespace HyperSharp.Cluster;

/// <summary>The cluster itself (Get-Cluster): its name, functional level and heartbeat settings, as kept in etcd.</summary>
public sealed record ClusterRecord
{
    /// <summary>The functional level this build writes; a rolling upgrade (later) raises it.</summary>
    public const int CurrentFunctionalLevel = 1;

    public required string Name { get; init; }
    public int FunctionalLevel { get; init; } = CurrentFunctionalLevel;
    /// <summary>Hyper-V's SameSubnetDelay: milliseconds between heartbeats (a lease renewal).</summary>
    public int SameSubnetDelayMs { get; init; } = 1000;
    /// <summary>Hyper-V's SameSubnetThreshold: heartbeats missed before the node is down (the lease's TTL is delay × threshold).</summary>
    public int SameSubnetThreshold { get; init; } = 10;

    /// <summary>The node lease's TTL: etcd counts whole seconds, so delay × threshold rounded up, at least one.</summary>
    public long LeaseTtlSeconds => Math.Max(1, (SameSubnetDelayMs * (long)SameSubnetThreshold + 999) / 1000);
}

/// <summary>A member of the cluster (Add-ClusterNode); whether it is Up is its lease's business, not this record's.</summary>
public sealed record NodeRecord
{
    public required string Name { get; init; }
    /// <summary>Get-ClusterNode's Id: 1, 2, 3... in the order nodes were added.</summary>
    public int Id { get; init; }
    /// <summary>Suspend-ClusterNode: the node takes no groups (failover, drain or move) until Resume-ClusterNode.</summary>
    public bool Paused { get; init; }
    /// <summary>Get-ClusterNode's DrainStatus: how the last Suspend-ClusterNode -Drain went.</summary>
    public DrainStatus DrainStatus { get; init; }
    /// <summary>The groups the last drain sent elsewhere (what Resume-ClusterNode -Failback Immediate brings back), and why any stayed.</summary>
    public List<string> Drained { get; init; } = [];
    public string? DrainError { get; init; }
}

/// <summary>Hyper-V's DrainStatus of a node.</summary>
public enum DrainStatus { NotInitiated, InProgress, Completed, Failed }

/// <summary>What a node says while it is alive, in its lease-bound heartbeat key: what placement needs to know.</summary>
public sealed record NodeHeartbeat
{
    public long FreeMemoryBytes { get; init; }
    public long SinceUnixMs { get; init; }
    /// <summary>Where the node's host takes live migrations (its --tls-listen, HOST:PORT); null when it takes none.</summary>
    public string? MigrationAddress { get; init; }
}

/// <summary>A clustered VM role (Get-ClusterGroup): which VM, where its folder is on shared storage, and its start priority.</summary>
public sealed record GroupRecord
{
    public required string Name { get; init; }
    public Guid VmId { get; init; }
    /// <summary>The VM's folder on storage every node sees: a new owner registers the VM from here.</summary>
    public required string VmFolder { get; init; }
    public long MemoryBytes { get; init; }
    /// <summary>3000 High, 2000 Medium (the default), 1000 Low, 0 No Auto Start (never started by a failover).</summary>
    public int Priority { get; init; } = GroupPriority.Medium;
    /// <summary>Start-ClusterGroup sets it, Stop-ClusterGroup clears it: whether the cluster keeps the VM running.</summary>
    public bool Online { get; init; }
    /// <summary>Set-ClusterOwnerNode: the nodes placement tries first, in this order (empty: any node).</summary>
    public List<string> PreferredOwners { get; init; } = [];
    /// <summary>Hyper-V's AntiAffinityClassNames: placement keeps groups sharing a name on different nodes while it can.</summary>
    public List<string> AntiAffinityClassNames { get; init; } = [];
}

/// <summary>Where a group last came online (or failed to): written by its owner, read for ordering and Get-ClusterGroup.</summary>
public sealed record GroupStatus
{
    public required string Node { get; init; }
    /// <summary>The create revision of the owner key this status belongs to: an older owner's status never counts for a newer one.</summary>
    public long OwnerRevision { get; init; }
    public GroupState State { get; init; }
    public long ChangedUnixMs { get; init; }
    public string? Error { get; init; }
}

/// <summary>Get-ClusterGroup's State.</summary>
public enum GroupState { Offline, Online, Pending, Failed }

/// <summary>Get-ClusterNode's State.</summary>
public enum NodeState { Up, Down, Paused, Joining }

/// <summary>Hyper-V's priority values and their names.</summary>
public static class GroupPriority
{
    public const int High = 3000, Medium = 2000, Low = 1000, NoAutoStart = 0;

    /// <summary>The value, or an error naming what is allowed.</summary>
    public static int Check(int priority) => priority is High or Medium or Low or NoAutoStart ? priority
        : throw new ClusterException($"priority {priority} is not one of 3000 (High), 2000 (Medium), 1000 (Low), 0 (No Auto Start)");
}

/// <summary>A cluster request that cannot be done, said for the user.</summary>
public sealed class ClusterException(string message, bool notFound = false) : Exception(message)
{
    public bool NotFound { get; } = notFound;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
[JsonSerializable(typeof(ClusterRecord))]
[JsonSerializable(typeof(NodeRecord))]
[JsonSerializable(typeof(NodeHeartbeat))]
[JsonSerializable(typeof(GroupRecord))]
[JsonSerializable(typeof(GroupStatus))]
[JsonSerializable(typeof(MoveRecord))]
internal sealed partial class ClusterJson : JsonSerializerContext
{
    public static T Read<T>(Google.Protobuf.ByteString value, string key) where T : class
    {
        try { return (T?)JsonSerializer.Deserialize(value.Span, typeof(T), Default) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new ClusterException($"etcd key {key} does not hold a readable {typeof(T).Name}: {e.Message}"); }
    }

    public static Google.Protobuf.ByteString Write<T>(T value) => Google.Protobuf.ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(value, typeof(T), Default));
}
