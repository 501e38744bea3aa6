using Mvccpb;

namespace HyperSharp.Cluster;

/// <summary>A group as the cluster sees it at one revision: its record, its owner (if any) and its last status.</summary>
public sealed record GroupView(GroupRecord Record, string? Owner, long OwnerRevision, GroupStatus? Status)
{
    /// <summary>The move asked of it, if one is under way or last failed (<see cref="MoveRecord"/>).</summary>
    public MoveRecord? Move { get; init; }
    /// <summary>The owner key's mod revision: what a hand-over compares.</summary>
    public long OwnerModRevision { get; init; }
    /// <summary>The move record's mod revision: what a change of its state compares.</summary>
    public long MoveRevision { get; init; }

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
    /// <summary>Each live node's lease (what its heartbeat key is bound to): a group handed to that node is bound to it too.</summary>
    public Dictionary<string, long> Leases { get; } = new(StringComparer.OrdinalIgnoreCase);
    public List<GroupView> Groups { get; } = [];
    public long Revision { get; private init; }

    public NodeState StateOf(NodeRecord node) => !Alive.ContainsKey(node.Name) ? NodeState.Down : node.Paused ? NodeState.Paused : NodeState.Up;

    public NodeRecord? Node(string name) => Nodes.FirstOrDefault(n => string.Equals(n.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The live nodes that take groups: Up, not Paused.</summary>
    public IEnumerable<KeyValuePair<string, NodeHeartbeat>> Takers => Alive.Where(a => Node(a.Key) is not { Paused: true });

    public GroupView? Group(string name) => Groups.FirstOrDefault(g => string.Equals(g.Record.Name, name, StringComparison.OrdinalIgnoreCase));

    public static async Task<ClusterSnapshot> ReadAsync(EtcdStore store, ClusterKeys keys)
    {
        var (values, revision) = await store.GetPrefixAsync(keys.Prefix).ConfigureAwait(false);
        ClusterRecord? cluster = null;
        var nodes = new List<NodeRecord>();
        var alive = new Dictionary<string, NodeHeartbeat>(StringComparer.OrdinalIgnoreCase);
        var leases = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        var moves = new Dictionary<string, KeyValue>(StringComparer.Ordinal);
        var groups = new List<GroupRecord>();
        var owners = new Dictionary<string, KeyValue>(StringComparer.Ordinal);
        var statuses = new Dictionary<string, GroupStatus>(StringComparer.Ordinal);
        foreach (var kv in values)
        {
            string key = kv.Key.ToStringUtf8();
            if (key == keys.Cluster) cluster = ClusterJson.Read<ClusterRecord>(kv.Value, key);
            else if (key.StartsWith(keys.Nodes, StringComparison.Ordinal)) nodes.Add(ClusterJson.Read<NodeRecord>(kv.Value, key));
            else if (key.StartsWith(keys.Alive, StringComparison.Ordinal))
            {
                alive[Uri.UnescapeDataString(key[keys.Alive.Length..])] = ClusterJson.Read<NodeHeartbeat>(kv.Value, key);
                leases[Uri.UnescapeDataString(key[keys.Alive.Length..])] = kv.Lease;
            }
            else if (key.StartsWith(keys.Moves, StringComparison.Ordinal)) moves[key[keys.Moves.Length..]] = kv;
            else if (key.StartsWith(keys.Groups, StringComparison.Ordinal)) groups.Add(ClusterJson.Read<GroupRecord>(kv.Value, key));
            else if (key.StartsWith(keys.Owners, StringComparison.Ordinal)) owners[key[keys.Owners.Length..]] = kv;
            else if (key.StartsWith(keys.Statuses, StringComparison.Ordinal)) statuses[key[keys.Statuses.Length..]] = ClusterJson.Read<GroupStatus>(kv.Value, key);
        }
        var snapshot = new ClusterSnapshot { Cluster = cluster, Revision = revision };
        nodes.Sort((a, b) => a.Id.CompareTo(b.Id));
        snapshot.Nodes.AddRange(nodes);
        // Alive keys are lower-case (see ClusterKeys); the node's own spelling comes from its record.
        foreach (var (name, beat) in alive)
        {
            string spelled = nodes.FirstOrDefault(n => string.Equals(n.Name, name, StringComparison.OrdinalIgnoreCase))?.Name ?? name;
            snapshot.Alive[spelled] = beat;
            snapshot.Leases[spelled] = leases[name];
        }
        foreach (var g in groups.OrderBy(g => g.Name, StringComparer.OrdinalIgnoreCase))
        {
            string id = Uri.EscapeDataString(g.Name.ToLowerInvariant());
            owners.TryGetValue(id, out var owner);
            statuses.TryGetValue(id, out var status);
            moves.TryGetValue(id, out var move);
            snapshot.Groups.Add(new GroupView(g, owner?.Value.ToStringUtf8(), owner?.CreateRevision ?? 0, status)
            {
                OwnerModRevision = owner?.ModRevision ?? 0,
                Move = move is null ? null : ClusterJson.Read<MoveRecord>(move.Value, keys.Moves + id),
                MoveRevision = move?.ModRevision ?? 0,
            });
        }
        return snapshot;
    }
}
