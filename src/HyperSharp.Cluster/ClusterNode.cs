using System.Collections.Concurrent;

namespace HyperSharp.Cluster;

/// <summary>
/// This host as a cluster node: it waits until the cluster lists it, holds its lease (<see cref="NodeLease"/>), and on
/// every change under the cluster's prefix reconciles — starts the groups it owns that should run, turns off those that
/// should not, and claims its share of ownerless groups (<see cref="FailoverPlan"/>). While its lease is in doubt it
/// does nothing but fence.
/// </summary>
public sealed class ClusterNode : IAsyncDisposable
{
    private readonly EtcdStore _store;
    private readonly ClusterKeys _keys;
    private readonly IClusterHost _host;
    private readonly ClusterCatalog _catalog;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _changed = new(0, 1);
    private readonly ConcurrentDictionary<string, Task> _starting = new(StringComparer.OrdinalIgnoreCase);
    private NodeLease? _lease;
    private Task _running = Task.CompletedTask;

    public ClusterNode(EtcdStore store, ClusterKeys keys, string name, IClusterHost host, Action<string> log)
    {
        _store = store;
        _keys = keys;
        Name = name;
        _host = host;
        _log = log;
        _catalog = new ClusterCatalog(store, keys);
        _moves = new GroupMoves(store, keys, _catalog, name, host, log, Changed);
    }

    private readonly GroupMoves _moves;

    public string Name { get; }

    /// <summary>The node's lease while it holds one (what its ownership keys are bound to), else 0.</summary>
    public long LeaseId => _lease is { Valid: true } lease ? lease.Id : 0;

    public void Start() => _running = RunAsync(_stop.Token);

    private async Task RunAsync(CancellationToken cancel)
    {
        try
        {
            var cluster = await WaitForMembershipAsync(cancel).ConfigureAwait(false);
            _lease = new NodeLease(_store, _keys, Name, _host.MigrationAddress, _log);
            await _lease.GrantAsync(cluster, _host.FreeMemoryBytes()).ConfigureAwait(false);
            var heartbeat = _lease.RunAsync(cluster, _host.FreeMemoryBytes, FenceAsync, () => { Changed(); return Task.CompletedTask; }, cancel);
            var watch = WatchAsync(cancel);
            await ReconcileLoopAsync(cancel).ConfigureAwait(false);
            await Task.WhenAll(heartbeat, watch).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested) { }
        catch (Exception e) { _log($"cluster: node {Name} stopped taking part: {e}"); }
    }

    /// <summary>Until the cluster exists and lists this node (New-Cluster -Node, Add-ClusterNode), re-read on every change.</summary>
    private async Task<ClusterRecord> WaitForMembershipAsync(CancellationToken cancel)
    {
        bool told = false;
        while (true)
        {
            try
            {
                var snapshot = await ClusterSnapshot.ReadAsync(_store, _keys).ConfigureAwait(false);
                if (snapshot.Cluster is { } cluster && snapshot.Nodes.Any(n => string.Equals(n.Name, Name, StringComparison.OrdinalIgnoreCase))) return cluster;
                if (!told) _log($"cluster: node {Name} waits to be added to a cluster (New-Cluster -Node {Name}, or Add-ClusterNode)");
                told = true;
                using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                var watch = _store.WatchAsync(_keys.Prefix, snapshot.Revision + 1, () => watching.Cancel(), watching.Token);
                try { await watch.ConfigureAwait(false); } catch (Exception) when (watching.IsCancellationRequested && !cancel.IsCancellationRequested) { }
            }
            catch (ClusterException e)
            {
                _log($"cluster: {e.Message}");
                await Task.Delay(TimeSpan.FromSeconds(1), cancel).ConfigureAwait(false); // etcd is down: nothing tells us when it is back
            }
            catch (Grpc.Core.RpcException e) when (!cancel.IsCancellationRequested)
            {
                _log($"cluster: the watch on etcd broke: {e.Status.Detail}");
                await Task.Delay(TimeSpan.FromSeconds(1), cancel).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Every change under the prefix wakes the reconciler; a broken watch is re-made (and the state re-read).</summary>
    private async Task WatchAsync(CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                var (_, revision) = await _store.GetPrefixAsync(_keys.Prefix).ConfigureAwait(false);
                Changed();
                await _store.WatchAsync(_keys.Prefix, revision + 1, Changed, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancel.IsCancellationRequested && e is ClusterException or Grpc.Core.RpcException or IOException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancel).ConfigureAwait(false); // etcd unreachable: try again soon
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested) { return; }
        }
    }

    private void Changed()
    {
        try { _changed.Release(); } catch (SemaphoreFullException) { } // one pending wake-up covers any number of changes
    }

    private async Task ReconcileLoopAsync(CancellationToken cancel)
    {
        while (true)
        {
            await _changed.WaitAsync(cancel).ConfigureAwait(false);
            if (_lease is not { Valid: true }) continue;
            try { await ReconcileAsync(cancel).ConfigureAwait(false); }
            catch (ClusterException e) { _log($"cluster: {e.Message}"); }
            // The host's refusal of one step (a VM busy in another operation) must not end the node's part: the next change retries.
            catch (Exception e) when (e is not OperationCanceledException) { _log($"cluster: a reconcile step failed: {e.Message}"); }
        }
    }

    private async Task ReconcileAsync(CancellationToken cancel)
    {
        var snapshot = await ClusterSnapshot.ReadAsync(_store, _keys).ConfigureAwait(false);
        _known = [.. snapshot.Groups.Select(g => g.Record)];
        if (!snapshot.Alive.ContainsKey(Name)) return; // our heartbeat key is not there (yet): our lease is in doubt
        // A group on its way out or in is the mover's (GroupMoves), not the reconciler's.
        foreach (var group in snapshot.Groups.Where(g => string.Equals(g.Owner, Name, StringComparison.OrdinalIgnoreCase) && !_moves.Moving(g)))
        {
            bool running = _host.IsRunning(group.Record.VmId);
            // Pending, or Online in etcd while it does not run here (fenced, then the same lease renewed): start it.
            if (group.Record.Online && group.State is not GroupState.Failed && !running && !_starting.ContainsKey(group.Record.Name))
                Begin(group, cancel);
            else if (group.Record.Online && running && group.CurrentStatus?.State is not GroupState.Online && !_starting.ContainsKey(group.Record.Name))
                await SetStatusAsync(group, GroupState.Online, null).ConfigureAwait(false); // clustered while it ran here
            else if (!group.Record.Online && running)
            {
                await _host.TurnOffAsync(group.Record.VmId).ConfigureAwait(false);
                await SetStatusAsync(group, GroupState.Offline, null).ConfigureAwait(false);
            }
            else if (!group.Record.Online && group.CurrentStatus is null) await SetStatusAsync(group, GroupState.Offline, null).ConfigureAwait(false);
        }
        foreach (var elsewhere in snapshot.Groups.Where(g => g.Owner is not null && !string.Equals(g.Owner, Name, StringComparison.OrdinalIgnoreCase) && !_moves.Moving(g)))
            if (await _host.ForgetAsync(elsewhere.Record.VmId).ConfigureAwait(false))
                _log($"cluster: VM of group {elsewhere.Record.Name} is owned by {elsewhere.Owner} now: no longer listed here");
        // No Auto Start: a group whose owner failed is not started elsewhere; it goes Offline until Start-ClusterGroup.
        foreach (var stranded in snapshot.Groups.Where(g => g.Owner is null && g.Record.Online && g.Record.Priority == GroupPriority.NoAutoStart))
            if (await _catalog.UpdateGroupAsync(stranded.Record.Name, g => g with { Online = false }, onlyIfOwnerless: true).ConfigureAwait(false))
                _log($"cluster: group {stranded.Record.Name} lost its owner and is No Auto Start: it stays off");
        foreach (var placement in FailoverPlan.Decide(snapshot))
        {
            if (placement.Node is null) { _log($"cluster: group {placement.Group.Name} cannot start: {placement.Refusal}"); continue; }
            if (!string.Equals(placement.Node, Name, StringComparison.OrdinalIgnoreCase)) continue;
            if (await _store.CreateAsync([_keys.Owner(placement.Group.Name)], [(_keys.Owner(placement.Group.Name), EtcdStore.Bytes(Name), LeaseId)]).ConfigureAwait(false))
                _log($"cluster: node {Name} claimed group {placement.Group.Name} (priority {placement.Group.Priority})");
            // Claimed or not, the change wakes every node again: the owner starts it then.
        }
        await _moves.ReconcileAsync(snapshot, cancel).ConfigureAwait(false);
    }

    /// <summary>Starts the group's VM here in the background; its status says how it went.</summary>
    private void Begin(GroupView group, CancellationToken cancel)
    {
        _starting[group.Record.Name] = Task.Run(async () =>
        {
            try
            {
                if (!_host.IsRunning(group.Record.VmId)) await _host.StartAsync(group.Record, cancel).ConfigureAwait(false);
                // Before Online, so the next placement sees what this node has left; a lease lost meanwhile is the heartbeat's business.
                if (_lease is { } lease)
                    try { await lease.RefreshAsync(_host.FreeMemoryBytes()).ConfigureAwait(false); }
                    catch (ClusterException e) { _log($"cluster: the heartbeat's free memory was not updated: {e.Message}"); }
                _log($"cluster: group {group.Record.Name} is online on {Name}");
                await SetStatusAsync(group, GroupState.Online, null).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _log($"cluster: group {group.Record.Name} failed to start on {Name}: {e.Message}");
                try { await SetStatusAsync(group, GroupState.Failed, e.Message).ConfigureAwait(false); } catch (ClusterException) { }
            }
            finally { _starting.TryRemove(group.Record.Name, out _); }
        }, CancellationToken.None);
    }

    private Task SetStatusAsync(GroupView group, GroupState state, string? error) =>
        _store.PutAsync(_keys.Status(group.Record.Name), ClusterJson.Write(new GroupStatus
        {
            Node = Name, OwnerRevision = group.OwnerRevision, State = state, Error = error, ChangedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        }));

    /// <summary>
    /// The fence: every clustered VM running here is turned off, before the lease can expire anywhere. It asks etcd
    /// nothing (etcd may be what is gone): the groups are those the last reconcile saw.
    /// </summary>
    private async Task FenceAsync()
    {
        foreach (var group in _known.Where(g => _host.IsRunning(g.VmId)))
        {
            try
            {
                await _host.FenceAsync(group.VmId).ConfigureAwait(false);
                _log($"cluster: fenced: turned off {group.Name}");
            }
            catch (Exception e) { _log($"cluster: fencing {group.Name} failed: {e.Message}"); }
        }
    }

    /// <summary>Every group as the last reconcile read them (what the fence turns off).</summary>
    private volatile List<GroupRecord> _known = [];

    /// <summary>
    /// A clean stop (the host's SIGTERM): the node stops taking part, turns off the clustered VMs it runs and gives its
    /// lease back, so the owner keys bound to it go at once and the other nodes start those VMs now, not a TTL later.
    /// The VMs go first: while the lease lives no other node may start them, so none runs on two nodes.
    /// </summary>
    public async Task LeaveAsync()
    {
        var lease = _lease;
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _running.ConfigureAwait(false); } catch (OperationCanceledException) { }
        foreach (var start in _starting.Values)
            try { await start.ConfigureAwait(false); } catch (OperationCanceledException) { }
        foreach (var group in _known.Where(g => _host.IsRunning(g.VmId)))
        {
            try { await _host.TurnOffAsync(group.VmId).ConfigureAwait(false); }
            catch (Exception e)
            {
                _log($"cluster: {group.Name} did not turn off ({e.Message}): stopping it as a fence does");
                await _host.FenceAsync(group.VmId).ConfigureAwait(false);
            }
            _log($"cluster: node {Name} is leaving: turned off {group.Name}");
        }
        if (lease is not { Valid: true }) return;
        try
        {
            await _store.RevokeLeaseAsync(lease.Id).ConfigureAwait(false);
            _log($"cluster: node {Name} gave its lease {lease.Id:x} back: its groups fail over now");
        }
        catch (Exception e) when (e is ClusterException or Grpc.Core.RpcException) { _log($"cluster: node {Name} could not give its lease back ({e.Message}): its groups fail over when it expires"); }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _running.ConfigureAwait(false); } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
