using System.Diagnostics;

namespace HyperSharp.Cluster;

/// <summary>
/// A node's heartbeat: an etcd lease of delay × threshold seconds, renewed every delay, with the node's heartbeat key bound
/// to it. Fencing rule: the lease can expire no sooner than TTL after the last renewal that etcd accepted, and that renewal
/// was sent no earlier than when this side sent it; so once half the TTL has passed since the send time of the last
/// renewal that succeeded, <see cref="Lost"/> fires, and the node turns its VMs off well before anyone else may own them.
/// </summary>
internal sealed class NodeLease(EtcdStore store, ClusterKeys keys, string node, string? migrationAddress, Action<string> log)
{
    private long _lastRenewalSent; // Stopwatch ticks of the send time of the last renewal that succeeded

    public long Id { get; private set; }
    public bool Valid { get; private set; }

    /// <summary>A new lease and the heartbeat key bound to it: the node is Up from here.</summary>
    public async Task GrantAsync(ClusterRecord cluster, long freeMemory)
    {
        long sent = Stopwatch.GetTimestamp();
        Id = await store.GrantLeaseAsync(cluster.LeaseTtlSeconds).ConfigureAwait(false);
        await RefreshAsync(freeMemory).ConfigureAwait(false);
        _lastRenewalSent = sent;
        Valid = true;
        log($"cluster: node {node} is up (lease {Id:x}, TTL {cluster.LeaseTtlSeconds} s, a heartbeat every {cluster.SameSubnetDelayMs} ms)");
    }

    /// <summary>The heartbeat key again with what the node has free now (after it started or stopped a VM), for placement.</summary>
    public Task RefreshAsync(long freeMemory) =>
        store.PutAsync(keys.AliveKey(node), ClusterJson.Write(new NodeHeartbeat { FreeMemoryBytes = freeMemory, SinceUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), MigrationAddress = migrationAddress }), Id);

    /// <summary>
    /// Renews every delay until cancelled. <paramref name="lost"/> runs once when half the TTL passes without a renewal
    /// (the fence); <paramref name="regained"/> runs once the node holds a lease again (the same one, or a new one after it expired).
    /// </summary>
    public async Task RunAsync(ClusterRecord cluster, Func<long> freeMemory, Func<Task> lost, Func<Task> regained, CancellationToken cancel)
    {
        var delay = TimeSpan.FromMilliseconds(cluster.SameSubnetDelayMs);
        var fenceAfter = TimeSpan.FromSeconds(cluster.LeaseTtlSeconds) / 2;
        using var timer = new PeriodicTimer(delay);
        while (await timer.WaitForNextTickAsync(cancel).ConfigureAwait(false))
        {
            long sent = Stopwatch.GetTimestamp();
            var sinceLast = Stopwatch.GetElapsedTime(_lastRenewalSent);
            try
            {
                // A renewal that comes back after the fence time is no use: the wait ends there.
                var patience = Valid ? fenceAfter - sinceLast : delay;
                long ttl = patience > TimeSpan.Zero ? await store.RenewLeaseAsync(Id, patience < delay ? patience : delay).ConfigureAwait(false) : -1;
                if (ttl > 0)
                {
                    _lastRenewalSent = sent;
                    if (!Valid)
                    {
                        Valid = true;
                        log($"cluster: node {node} reached etcd again; its lease {Id:x} still lives");
                        await regained().ConfigureAwait(false);
                    }
                    continue;
                }
                if (ttl == 0)
                {
                    // Expired: everything bound to it (the heartbeat, the VMs this node owned) is gone; join again as a new incarnation.
                    if (Valid) { Valid = false; log($"cluster: node {node}'s lease {Id:x} has expired"); await lost().ConfigureAwait(false); }
                    await GrantAsync(cluster, freeMemory()).ConfigureAwait(false);
                    await regained().ConfigureAwait(false);
                    continue;
                }
            }
            catch (ClusterException e) when (!cancel.IsCancellationRequested) { log($"cluster: heartbeat failed: {e.Message}"); }
            if (Valid && Stopwatch.GetElapsedTime(_lastRenewalSent) >= fenceAfter)
            {
                Valid = false;
                log($"cluster: node {node} has not renewed its lease for {Stopwatch.GetElapsedTime(_lastRenewalSent).TotalMilliseconds:0} ms (half the TTL): fencing its VMs");
                await lost().ConfigureAwait(false);
            }
        }
    }
}
