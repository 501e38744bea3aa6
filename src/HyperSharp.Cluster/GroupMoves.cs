namespace HyperSharp.Cluster;

/// <summary>
/// A node's part in moves (<see cref="MoveRecord"/>): it live-migrates the groups it owns that were asked to move, one at a
/// time and highest priority first, and hands a group's owner key to the destination only once the destination owns the
/// VM; it drops move records of groups that reached it, and says when a drain of its own has ended (DrainStatus).
/// </summary>
/// <param name="wake">asks the node for another reconcile: a move's end must start the next even if etcd's news of it came while it was still running</param>
internal sealed class GroupMoves(EtcdStore store, ClusterKeys keys, ClusterCatalog catalog, string node, IClusterHost host, Action<string> log, Action wake)
{
    private volatile bool _busy; // a move runs: one at a time

    /// <summary>Whether the reconciler must leave this group to the mover: it is leaving this node, or arriving here.</summary>
    public bool Moving(GroupView group) => group.Move is { State: MoveState.Moving } m
        && (Is(m.From) && Is(group.Owner) || Is(m.To) && !Is(group.Owner));

    public async Task ReconcileAsync(ClusterSnapshot snapshot, CancellationToken cancel)
    {
        // A group that reached this node by a failover while its move was under way, or that a failed owner had been asked
        // to move: that move is over.
        foreach (var arrived in snapshot.Groups.Where(g => Is(g.Owner) && g.Move is { } m && (Is(m.To) || !Is(m.From))))
            await store.DeleteAsync(keys.Move(arrived.Record.Name)).ConfigureAwait(false);
        await FinishDrainAsync(snapshot).ConfigureAwait(false);
        if (_busy) return;
        var next = snapshot.Groups
            .Where(g => Is(g.Owner) && g.Move is { State: MoveState.Requested } m && Is(m.From))
            .OrderByDescending(g => g.Record.Priority).ThenBy(g => g.Record.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault();
        if (next is null) return;
        _busy = true;
        _ = Task.Run(() => MoveAsync(next, snapshot, cancel), CancellationToken.None);
    }

    /// <summary>One move: checked, marked Moving, the VM live-migrated, then the owner key handed over with the record gone.</summary>
    private async Task MoveAsync(GroupView group, ClusterSnapshot snapshot, CancellationToken cancel)
    {
        var move = group.Move!;
        string name = group.Record.Name;
        try
        {
            snapshot.Alive.TryGetValue(move.To, out var beat);
            string? refusal = beat is null ? $"node {move.To} is not Up"
                : snapshot.Node(move.To) is { Paused: true } ? $"node {move.To} is Paused"
                : beat.MigrationAddress is null ? $"node {move.To} takes no live migrations (its host runs without --tls-listen)"
                : !host.IsRunning(group.Record.VmId) ? $"its VM is not running on {node} (only a running VM moves live)"
                : null;
            if (refusal is not null) { await FailAsync(group, move, refusal).ConfigureAwait(false); return; }
            var moving = move with { State = MoveState.Moving, Error = null };
            if (!await store.ReplaceAsync(keys.Move(name), group.MoveRevision, ClusterJson.Write(moving)).ConfigureAwait(false)) return; // changed meanwhile: the next reconcile looks again
            log($"cluster: moving group {name} to {move.To} by live migration{(move.Drain ? " (drain)" : "")}");
            try { await host.MoveAsync(group.Record.VmId, beat!.MigrationAddress!, cancel).ConfigureAwait(false); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                if (host.IsRunning(group.Record.VmId))
                {
                    var current = await store.GetAsync(keys.Move(name)).ConfigureAwait(false);
                    if (current is not null) await FailAsync(group with { MoveRevision = current.ModRevision }, moving, e.Message).ConfigureAwait(false);
                    return;
                }
                log($"cluster: the move of group {name} ended with '{e.Message}', but its VM left this node: {move.To} owns it");
            }
            // The destination owns the VM now: the owner key goes to it, bound to its lease as it is at this moment.
            var alive = await store.GetAsync(keys.AliveKey(move.To)).ConfigureAwait(false);
            if (alive is not null && await store.HandOverAsync(keys.Owner(name), group.OwnerModRevision, EtcdStore.Bytes(move.To), alive.Lease, keys.Move(name)).ConfigureAwait(false))
                log($"cluster: group {name} moved to {move.To}");
            else
                log($"cluster: group {name} runs on {move.To} but its owner key could not be handed over (this node's or {move.To}'s lease changed): a failover gives it to {move.To}");
        }
        catch (ClusterException e) { log($"cluster: the move of group {name} to {move.To} stopped: {e.Message}"); }
        finally
        {
            _busy = false; // before the wake-up, so the reconcile it brings may start the next move
            wake();
        }
    }

    private async Task FailAsync(GroupView group, MoveRecord move, string why)
    {
        log($"cluster: group {group.Record.Name} stays on {node}: {why}");
        await store.ReplaceAsync(keys.Move(group.Record.Name), group.MoveRevision, ClusterJson.Write(move with { State = MoveState.Failed, Error = why })).ConfigureAwait(false);
    }

    /// <summary>
    /// This node's drain is over once none of its drain moves waits or runs: Completed if it runs no group any more, else
    /// Failed. Another node's drain is over (Failed) if that node went Down during it.
    /// </summary>
    private async Task FinishDrainAsync(ClusterSnapshot snapshot)
    {
        foreach (var down in snapshot.Nodes.Where(n => n.DrainStatus == DrainStatus.InProgress && !Is(n.Name) && !snapshot.Alive.ContainsKey(n.Name)))
            if (await catalog.UpdateNodeAsync(down.Name, n => n.DrainStatus == DrainStatus.InProgress ? n with { DrainStatus = DrainStatus.Failed, DrainError = $"node {n.Name} went down during its drain: what it still ran failed over" } : n).ConfigureAwait(false))
                log($"cluster: node {down.Name} went down during its drain");
        if (snapshot.Node(node) is not { Paused: true, DrainStatus: DrainStatus.InProgress } record) return;
        if (snapshot.Groups.Any(g => g.Move is { Drain: true, State: MoveState.Requested or MoveState.Moving } m && Is(m.From))) return;
        var stayed = snapshot.Groups.Where(g => Is(g.Owner) && g.Record.Online).Select(g => g.Move is { State: MoveState.Failed, Error: { } e } ? $"{g.Record.Name}: {e}" : g.Record.Name).ToList();
        var status = stayed.Count == 0 ? DrainStatus.Completed : DrainStatus.Failed;
        string? error = stayed.Count == 0 ? null : $"still on {node}: {string.Join("; ", stayed)}{(record.DrainError is { } refused ? $" ({refused})" : "")}";
        if (await catalog.UpdateNodeAsync(node, n => n.DrainStatus == DrainStatus.InProgress ? n with { DrainStatus = status, DrainError = error } : n).ConfigureAwait(false))
            log($"cluster: node {node}'s drain {(status == DrainStatus.Completed ? "completed" : $"failed: {error}")}");
    }

    private bool Is(string? other) => string.Equals(other, node, StringComparison.OrdinalIgnoreCase);
}
