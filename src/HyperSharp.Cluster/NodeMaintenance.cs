namespace HyperSharp.Cluster;

/// <summary>
/// The administrator's moves: Suspend-ClusterNode [-Drain], Resume-ClusterNode [-Failback Immediate] and
/// Move-ClusterVirtualMachineRole. Each writes what is wanted (the node's record, <see cref="MoveRecord"/>s); the owners'
/// <see cref="GroupMoves"/> do the moving; these wait until it is done.
/// </summary>
public sealed class NodeMaintenance(EtcdStore store, ClusterKeys keys, ClusterCatalog catalog)
{
    /// <summary>
    /// Suspend-ClusterNode: the node is Paused (takes no groups); with <paramref name="drain"/>, each group it runs is asked
    /// to move to where <see cref="FailoverPlan.Drain"/> says, and the answer waits for the drain's end (its DrainStatus).
    /// </summary>
    public async Task<NodeRecord> SuspendAsync(string name, bool drain, TimeSpan wait)
    {
        var snapshot = await catalog.RequireClusterAsync().ConfigureAwait(false);
        var node = snapshot.Node(name) ?? throw new ClusterException($"cluster '{snapshot.Cluster!.Name}' has no node '{name}'", notFound: true);
        if (drain && snapshot.StateOf(node) == NodeState.Down) throw new ClusterException($"node '{node.Name}' is Down: it has nothing to drain");
        if (drain && node.DrainStatus == DrainStatus.InProgress) throw new ClusterException($"node '{node.Name}' is already draining");
        var plan = drain ? FailoverPlan.Drain(snapshot, node.Name) : [];
        var refused = plan.Where(p => p.Node is null).Select(p => $"{p.Group.Name}: {p.Refusal}").ToList();
        if (!drain)
        {
            await catalog.UpdateNodeAsync(node.Name, n => n with { Paused = true }).ConfigureAwait(false);
            return (await catalog.ReadAsync().ConfigureAwait(false)).Node(node.Name)!;
        }
        // Paused and its moves in one transaction: no group lands on the node while it drains, and the node never sees
        // its drain begun without the moves that make it.
        var paused = node with
        {
            Paused = true, DrainStatus = DrainStatus.InProgress,
            Drained = [.. plan.Where(p => p.Node is not null).Select(p => p.Group.Name)],
            DrainError = refused.Count == 0 ? null : string.Join("; ", refused),
        };
        List<(string, Google.Protobuf.ByteString, long)> puts = [(keys.Node(node.Name), ClusterJson.Write(paused), 0)];
        foreach (var placement in plan.Where(p => p.Node is not null))
            puts.Add((keys.Move(placement.Group.Name), ClusterJson.Write(new MoveRecord { From = node.Name, To = placement.Node!, Drain = true }), 0));
        await store.CreateAsync([], puts).ConfigureAwait(false);
        return await catalog.WaitAsync(s => s.Node(node.Name)!, n => n.DrainStatus != DrainStatus.InProgress,
            _ => $"node '{node.Name}' is still draining after {wait.TotalSeconds:0} s", wait).ConfigureAwait(false);
    }

    /// <summary>
    /// Resume-ClusterNode: the node takes groups again; with <paramref name="failback"/>, the groups its last drain sent
    /// away come back to it by live migration (those still running elsewhere), and the answer waits until they have.
    /// </summary>
    public async Task<NodeRecord> ResumeAsync(string name, bool failback, TimeSpan wait)
    {
        var snapshot = await catalog.RequireClusterAsync().ConfigureAwait(false);
        var node = snapshot.Node(name) ?? throw new ClusterException($"cluster '{snapshot.Cluster!.Name}' has no node '{name}'", notFound: true);
        await catalog.UpdateNodeAsync(node.Name, n => n with { Paused = false, Drained = failback ? [] : n.Drained }).ConfigureAwait(false);
        if (!failback) return (await catalog.ReadAsync().ConfigureAwait(false)).Node(node.Name)!;
        var back = node.Drained.Select(snapshot.Group).OfType<GroupView>()
            .Where(g => g.Owner is { } owner && !string.Equals(owner, node.Name, StringComparison.OrdinalIgnoreCase) && g.State == GroupState.Online).ToList();
        foreach (var group in back)
            await store.PutAsync(keys.Move(group.Record.Name), ClusterJson.Write(new MoveRecord { From = group.Owner!, To = node.Name })).ConfigureAwait(false);
        foreach (var group in back) await WaitForMoveAsync(group.Record.Name, node.Name, wait).ConfigureAwait(false);
        return (await catalog.ReadAsync().ConfigureAwait(false)).Node(node.Name)!;
    }

    /// <summary>Move-ClusterVirtualMachineRole -MigrationType Live: the group's owner moves it to <paramref name="to"/>; answered once it runs there.</summary>
    public async Task<GroupView> MoveAsync(string name, string to, TimeSpan wait)
    {
        var snapshot = await catalog.RequireClusterAsync().ConfigureAwait(false);
        var group = snapshot.Group(name) ?? throw new ClusterException($"the cluster has no group named '{name}'", notFound: true);
        var node = snapshot.Node(to) ?? throw new ClusterException($"cluster '{snapshot.Cluster!.Name}' has no node '{to}'", notFound: true);
        if (group.Owner is not { } owner || group.State != GroupState.Online) throw new ClusterException($"group '{group.Record.Name}' is {group.State}: only an Online group moves live");
        if (string.Equals(owner, node.Name, StringComparison.OrdinalIgnoreCase)) return group;
        if (snapshot.StateOf(node) != NodeState.Up) throw new ClusterException($"node '{node.Name}' is {snapshot.StateOf(node)}: it takes no groups");
        if (group.Move is { State: MoveState.Requested or MoveState.Moving } busy) throw new ClusterException($"group '{group.Record.Name}' is already moving to {busy.To}");
        await store.PutAsync(keys.Move(group.Record.Name), ClusterJson.Write(new MoveRecord { From = owner, To = node.Name })).ConfigureAwait(false);
        return await WaitForMoveAsync(group.Record.Name, node.Name, wait).ConfigureAwait(false);
    }

    /// <summary>Until the group runs on <paramref name="to"/>, or its move failed (an error saying why it stayed).</summary>
    private async Task<GroupView> WaitForMoveAsync(string name, string to, TimeSpan wait)
    {
        var group = await catalog.WaitForGroupAsync(name, g => g.Move is { State: MoveState.Failed }
            || string.Equals(g.Owner, to, StringComparison.OrdinalIgnoreCase) && g.Move is null && g.State == GroupState.Online, wait).ConfigureAwait(false);
        return group.Move is { State: MoveState.Failed, Error: var error } ? throw new ClusterException($"group '{name}' did not move to {to}: {error}") : group;
    }
}
