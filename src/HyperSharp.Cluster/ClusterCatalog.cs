namespace HyperSharp.Cluster;

/// <summary>
/// The administrator's verbs on the cluster's records (New-Cluster, Add-/Remove-ClusterNode,
/// Add-ClusterVirtualMachineRole, Set-/Start-/Stop-ClusterGroup); every node's reconciler acts on what they write.
/// </summary>
public sealed class ClusterCatalog(EtcdStore store, ClusterKeys keys)
{
    public Task<ClusterSnapshot> ReadAsync() => ClusterSnapshot.ReadAsync(store, keys);

    /// <summary>New-Cluster -Name -Node: the cluster record and its first nodes, all at once, only if there is no cluster yet.</summary>
    public async Task<ClusterRecord> CreateAsync(string name, IReadOnlyList<string> nodes, int? delayMs = null, int? threshold = null)
    {
        Names.Check("name", name);
        if (nodes.Count == 0) throw new ClusterException("New-Cluster needs at least one node (-Node)");
        if (nodes.Distinct(StringComparer.OrdinalIgnoreCase).Count() != nodes.Count) throw new ClusterException($"a node is named twice in {string.Join(", ", nodes)}");
        var cluster = new ClusterRecord { Name = name };
        if (delayMs is { } d) cluster = cluster with { SameSubnetDelayMs = d is >= 100 and <= 2000 ? d : throw new ClusterException($"SameSubnetDelay {d} ms is outside 100..2000 ms") };
        if (threshold is { } t) cluster = cluster with { SameSubnetThreshold = t is >= 3 and <= 120 ? t : throw new ClusterException($"SameSubnetThreshold {t} is outside 3..120") };
        var puts = new List<(string, Google.Protobuf.ByteString, long)> { (keys.Cluster, ClusterJson.Write(cluster), 0) };
        for (int i = 0; i < nodes.Count; i++)
            puts.Add((keys.Node(Names.Check("node", nodes[i])), ClusterJson.Write(new NodeRecord { Name = nodes[i], Id = i + 1 }), 0));
        if (!await store.CreateAsync([keys.Cluster], puts).ConfigureAwait(false))
            throw new ClusterException($"etcd already holds a cluster under {keys.Prefix} ('{(await ReadAsync().ConfigureAwait(false)).Cluster?.Name}')");
        return cluster;
    }

    public async Task<ClusterSnapshot> RequireClusterAsync()
    {
        var snapshot = await ReadAsync().ConfigureAwait(false);
        return snapshot.Cluster is null ? throw new ClusterException($"there is no cluster under {keys.Prefix} in etcd: create one with New-Cluster", notFound: true) : snapshot;
    }

    /// <summary>Add-ClusterNode: the node joins once its host runs with the cluster's etcd endpoints and this name.</summary>
    public async Task<NodeRecord> AddNodeAsync(string name)
    {
        var snapshot = await RequireClusterAsync().ConfigureAwait(false);
        var node = new NodeRecord { Name = Names.Check("node", name), Id = snapshot.Nodes.Select(n => n.Id).DefaultIfEmpty(0).Max() + 1 };
        if (!await store.CreateAsync([keys.Node(name)], [(keys.Node(name), ClusterJson.Write(node), 0)]).ConfigureAwait(false))
            throw new ClusterException($"node '{name}' is already in cluster '{snapshot.Cluster!.Name}'");
        return node;
    }

    /// <summary>Remove-ClusterNode: refused while the node owns groups (move them or stop the node first).</summary>
    public async Task RemoveNodeAsync(string name)
    {
        var snapshot = await RequireClusterAsync().ConfigureAwait(false);
        if (!snapshot.Nodes.Any(n => string.Equals(n.Name, name, StringComparison.OrdinalIgnoreCase))) throw new ClusterException($"cluster '{snapshot.Cluster!.Name}' has no node '{name}'", notFound: true);
        var owned = snapshot.Groups.Where(g => string.Equals(g.Owner, name, StringComparison.OrdinalIgnoreCase)).Select(g => g.Record.Name).ToList();
        if (owned.Count > 0) throw new ClusterException($"node '{name}' owns {string.Join(", ", owned)}: stop its host (they fail over) or stop those groups first");
        await store.DeleteAsync(keys.Node(name)).ConfigureAwait(false);
    }

    /// <summary>
    /// Add-ClusterVirtualMachineRole: the VM becomes a group owned by <paramref name="node"/> (bound to its lease), in one
    /// transaction that fails if the group or an owner already exists.
    /// </summary>
    public async Task<GroupRecord> AddGroupAsync(GroupRecord group, string node, long lease)
    {
        var snapshot = await RequireClusterAsync().ConfigureAwait(false);
        Names.Check("VM name", group.Name);
        if (lease == 0) throw new ClusterException($"node '{node}' holds no lease (it is not up in cluster '{snapshot.Cluster!.Name}')");
        if (snapshot.Groups.FirstOrDefault(g => g.Record.VmId == group.VmId) is { } same) throw new ClusterException($"VM {group.VmId} is already clustered as group '{same.Record.Name}'");
        if (!await store.CreateAsync([keys.Group(group.Name), keys.Owner(group.Name)],
                [(keys.Group(group.Name), ClusterJson.Write(group), 0), (keys.Owner(group.Name), EtcdStore.Bytes(node), lease)]).ConfigureAwait(false))
            throw new ClusterException($"cluster '{snapshot.Cluster!.Name}' already has a group named '{group.Name}'");
        return group;
    }

    /// <summary>
    /// Changes one group's record (Set-ClusterGroup -Priority, Start-/Stop-ClusterGroup), retried if another writer got
    /// there first; with <paramref name="onlyIfOwnerless"/>, only while no node owns the group. False when nothing was
    /// changed (the record already said so, or a node owns the group).
    /// </summary>
    public Task<bool> UpdateGroupAsync(string name, Func<GroupRecord, GroupRecord> change, bool onlyIfOwnerless = false) =>
        UpdateAsync(keys.Group(name), $"the cluster has no group named '{name}'", change, onlyIfOwnerless ? keys.Owner(name) : null);

    /// <summary>
    /// Set-ClusterOwnerNode and AntiAffinityClassNames: what is given (not null) replaces the group's list; each preferred
    /// owner must be a node of the cluster, each class a usable name.
    /// </summary>
    public async Task<GroupView> SetPlacementAsync(string name, List<string>? owners, List<string>? classes)
    {
        var snapshot = await RequireClusterAsync().ConfigureAwait(false);
        if (snapshot.Group(name) is null) throw new ClusterException($"the cluster has no group named '{name}'", notFound: true);
        foreach (var owner in owners ?? [])
            if (snapshot.Node(owner) is null) throw new ClusterException($"preferred owner '{owner}' is not a node of cluster '{snapshot.Cluster!.Name}'", notFound: true);
        foreach (var c in classes ?? []) Names.Check("anti-affinity class", c);
        // Each node and class once, as the cluster spells the node.
        var spelled = owners?.Select(o => snapshot.Node(o)!.Name).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var distinct = classes?.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        await UpdateGroupAsync(name, g => g with { PreferredOwners = spelled ?? g.PreferredOwners, AntiAffinityClassNames = distinct ?? g.AntiAffinityClassNames }).ConfigureAwait(false);
        return (await ReadAsync().ConfigureAwait(false)).Group(name)!;
    }

    /// <summary>Changes one node's record (Suspend-/Resume-ClusterNode, a drain's end) as <see cref="UpdateGroupAsync"/> does a group's.</summary>
    public Task<bool> UpdateNodeAsync(string name, Func<NodeRecord, NodeRecord> change) =>
        UpdateAsync(keys.Node(name), $"the cluster has no node named '{name}'", change, null);

    /// <summary>A read-modify-write of one record, retried if another writer got there first; with <paramref name="absent"/>, only while that key does not exist.</summary>
    private async Task<bool> UpdateAsync<T>(string key, string missing, Func<T, T> change, string? absent) where T : class
    {
        while (true)
        {
            var kv = await store.GetAsync(key).ConfigureAwait(false) ?? throw new ClusterException(missing, notFound: true);
            var current = ClusterJson.Read<T>(kv.Value, key);
            var updated = change(current);
            if (Equals(updated, current)) return false;
            if (await store.ReplaceAsync(key, kv.ModRevision, ClusterJson.Write(updated), absent is null ? null : [absent]).ConfigureAwait(false)) return true;
            if (absent is not null && await store.GetAsync(absent).ConfigureAwait(false) is not null) return false;
        }
    }

    /// <summary>
    /// Start-ClusterGroup: a group no node owns (its owner failed and it is No Auto Start, or it was never placed) is
    /// claimed by <paramref name="node"/> first, the node that serves the call; then it is marked to run.
    /// </summary>
    public async Task StartGroupAsync(string name, string node, long lease)
    {
        var snapshot = await RequireClusterAsync().ConfigureAwait(false);
        var group = snapshot.Group(name) ?? throw new ClusterException($"the cluster has no group named '{name}'", notFound: true);
        if (group.Owner is null && lease != 0)
            await store.CreateAsync([keys.Owner(group.Record.Name)], [(keys.Owner(group.Record.Name), EtcdStore.Bytes(node), lease)]).ConfigureAwait(false);
        await UpdateGroupAsync(name, g => g with { Online = true }).ConfigureAwait(false);
    }

    /// <summary>
    /// The group once <paramref name="reached"/> says it got where it was sent (re-read on every change etcd reports), or
    /// a <see cref="ClusterException"/> saying where it still is after <paramref name="timeout"/>.
    /// </summary>
    public Task<GroupView> WaitForGroupAsync(string name, Func<GroupView, bool> reached, TimeSpan timeout) =>
        WaitAsync(s => s.Group(name) ?? throw new ClusterException($"the cluster has no group named '{name}'", notFound: true), reached,
            group => $"group '{name}' is still {group.State} (owner {group.Owner ?? "none"}{(group.Status?.Error is { } e ? $": {e}" : "")}) after {timeout.TotalSeconds:0} s", timeout);

    /// <summary>
    /// What <paramref name="find"/> picks from the cluster once <paramref name="reached"/> says so (re-read on every change
    /// etcd reports), or a <see cref="ClusterException"/> with <paramref name="late"/>'s words after <paramref name="timeout"/>.
    /// </summary>
    public async Task<T> WaitAsync<T>(Func<ClusterSnapshot, T> find, Func<T, bool> reached, Func<T, string> late, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            var snapshot = await ReadAsync().ConfigureAwait(false);
            var found = find(snapshot);
            if (reached(found)) return found;
            if (deadline.IsCancellationRequested) throw new ClusterException(late(found));
            using var changed = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
            try { await store.WatchAsync(keys.Prefix, snapshot.Revision + 1, changed.Cancel, changed.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
            catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Cancelled) { }
        }
    }
}

/// <summary>Names of clusters, nodes and groups: what an etcd key and a message can carry.</summary>
internal static class Names
{
    public static string Check(string what, string name) =>
        string.IsNullOrWhiteSpace(name) || name.Length > 253 || name.Any(char.IsControl)
            ? throw new ClusterException($"{what} '{name}' is not a usable name (1 to 253 characters, no control characters)")
            : name;
}
