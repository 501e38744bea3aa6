using Mvccpb;

namespace HyperSharp.Cluster;

/// <summary>A group as the cluster sees it at one revision: its record, its owner (if any) and its last status.</summary>
public sealed record GroupView(GroupRecord Record, string? Owner, long OwnerRevision, GroupStatus? Status)
{
    /// <summary>The status written by the current owner, or null (an older owner's status says nothing of this one).</summary>
    public GroupStatus? CurrentStatus => Owner is not null && Status is { } s && s.OwnerRevision == OwnerRevision ? s : null;

    /// <summary>Get-ClusterGroup's State.</summary>
    public GroupState State => CurrentStatus?.State switch
    {
        GroupState.Online => GroupState.Online,
        GroupState.Failed => GroupState.Failed,
        GroupState.Offline or null when !Record.Online => GroupState.Offline,
        _ => GroupState.Pending,
    };
}

/// <summary>The whole cluster read in one etcd range: what Get-Cluster, Get-ClusterNode, Get-ClusterGroup and a failover decide from.</summary>
public sealed class ClusterSnapshot
{
    public ClusterRecord? Cluster { get; private init; }
    public List<NodeRecord> Nodes { get; } = [];
    public Dictionary<string, NodeHeartbeat> Alive { get; } = new(StringComparer.OrdinalIgnoreCase);
    public List<GroupView> Groups { get; } = [];
    public long Revision { get; private init; }

    public NodeState StateOf(NodeRecord node) => Alive.ContainsKey(node.Name) ? NodeState.Up : NodeState.Down;

    public GroupView? Group(string name) => Groups.FirstOrDefault(g => string.Equals(g.Record.Name, name, StringComparison.OrdinalIgnoreCase));

    public static async Task<ClusterSnapshot> ReadAsync(EtcdStore store, ClusterKeys keys)
    {
        var (values, revision) = await store.GetPrefixAsync(keys.Prefix).ConfigureAwait(false);
        ClusterRecord? cluster = null;
        var nodes = new List<NodeRecord>();
        var alive = new Dictionary<string, NodeHeartbeat>(StringComparer.OrdinalIgnoreCase);
        var groups = new List<GroupRecord>();
        var owners = new Dictionary<string, KeyValue>(StringComparer.Ordinal);
        var statuses = new Dictionary<string, GroupStatus>(StringComparer.Ordinal);
        foreach (var kv in values)
        {
            string key = kv.Key.ToStringUtf8();
            if (key == keys.Cluster) cluster = ClusterJson.Read<ClusterRecord>(kv.Value, key);
            else if (key.StartsWith(keys.Nodes, StringComparison.Ordinal)) nodes.Add(ClusterJson.Read<NodeRecord>(kv.Value, key));
            else if (key.StartsWith(keys.Alive, StringComparison.Ordinal)) alive[Uri.UnescapeDataString(key[keys.Alive.Length..])] = ClusterJson.Read<NodeHeartbeat>(kv.Value, key);
            else if (key.StartsWith(keys.Groups, StringComparison.Ordinal)) groups.Add(ClusterJson.Read<GroupRecord>(kv.Value, key));
            else if (key.StartsWith(keys.Owners, StringComparison.Ordinal)) owners[key[keys.Owners.Length..]] = kv;
            else if (key.StartsWith(keys.Statuses, StringComparison.Ordinal)) statuses[key[keys.Statuses.Length..]] = ClusterJson.Read<GroupStatus>(kv.Value, key);
        }
        var snapshot = new ClusterSnapshot { Cluster = cluster, Revision = revision };
        nodes.Sort((a, b) => a.Id.CompareTo(b.Id));
        snapshot.Nodes.AddRange(nodes);
        // Alive keys are lower-case (see ClusterKeys); the node's own spelling comes from its record.
        foreach (var (name, beat) in alive) snapshot.Alive[nodes.FirstOrDefault(n => string.Equals(n.Name, name, StringComparison.OrdinalIgnoreCase))?.Name ?? name] = beat;
        foreach (var g in groups.OrderBy(g => g.Name, StringComparer.OrdinalIgnoreCase))
        {
            string id = Uri.EscapeDataString(g.Name.ToLowerInvariant());
            owners.TryGetValue(id, out var owner);
            statuses.TryGetValue(id, out var status);
            snapshot.Groups.Add(new GroupView(g, owner?.Value.ToStringUtf8(), owner?.CreateRevision ?? 0, status));
        }
        return snapshot;
    }
}
