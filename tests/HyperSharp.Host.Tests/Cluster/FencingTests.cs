using System.Diagnostics;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests.Cluster;

/// <summary>
/// Fencing on a real etcd: the member is paused (SIGSTOP), so no node can renew its lease; the node running a clustered
/// VM turns it off before the lease's TTL can pass (at half of it), and once etcd is resumed the VM runs again on exactly one node.
/// </summary>
public sealed class FencingTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1000, 10)] // Hyper-V's defaults: a 10 s lease, fenced after 5 s without a renewal
    [InlineData(250, 8)]   // a short setting: a 2 s lease, fenced after 1 s (room for a loaded machine before the bound)
    public async Task ANodeCutFromEtcdTurnsItsClusteredVmsOffBeforeItsLeaseCanExpire(int delayMs, int threshold)
    {
        await using var cluster = await ClusterHosts.StartAsync(output, "a", "b");
        await cluster.CreateClusterAsync(delayMs, threshold);
        var (a, b) = (cluster.Hosts[0], cluster.Hosts[1]);
        await cluster.StartCounterAsync(a, "guarded");
        Assert.Equal("a", (await a.Cluster.AddClusterVmRoleAsync(new AddClusterVmRoleRequest { VmName = "guarded" })).OwnerNode);
        await ClusterHosts.WaitAsync(async () => (await a.Cluster.ListClusterGroupsAsync(new ListClusterGroupsRequest())).Groups.Single().State == "Online", "the group Online");

        long ttlMs = Math.Max(1, (delayMs * threshold + 999) / 1000) * 1000L;
        var clock = Stopwatch.StartNew();
        cluster.Etcd.Pause();
        try
        {
            // The last renewal that etcd took was at most one heartbeat before the pause; the lease lives TTL from then.
            await ClusterHosts.WaitAsync(async () => (await a.RunningAsync()).Count == 0, "the fenced VM off", TimeSpan.FromMilliseconds(ttlMs * 3));
            double off = clock.Elapsed.TotalMilliseconds;
            output.WriteLine($"etcd paused -> VM off on a: {off:0} ms (lease TTL {ttlMs} ms, heartbeat {delayMs} ms)");
            Assert.True(off < ttlMs - delayMs, $"the VM ran {off:0} ms after etcd went away: its lease ({ttlMs} ms) may have expired by then");
            await ClusterHosts.WaitAsync(() => Task.FromResult(a.Process.Log.Contains("fenced: turned off guarded")), "the host's note of the fence");
        }
        finally { cluster.Etcd.Resume(); }

        // Back: the group runs again, on one node only.
        await ClusterHosts.WaitAsync(async () =>
        {
            await FailoverTests.AssertNoVmOnTwoHosts(a, b);
            var group = (await a.Cluster.ListClusterGroupsAsync(new ListClusterGroupsRequest())).Groups.Single();
            return group.State == "Online" && (await (group.OwnerNode == "a" ? a : b).RunningAsync()).Count == 1;
        }, "the group Online again after etcd came back");
        await FailoverTests.AssertNoVmOnTwoHosts(a, b);
    }

    /// <summary>
    /// A VM busy in another operation when the lease is in doubt (here a guest shutdown that the counting guest never
    /// answers, which would hold the VM for 60 s) is stopped by the fence all the same, before the lease can expire.
    /// </summary>
    [Fact]
    public async Task AVmBusyInAnotherOperationIsFencedToo()
    {
        const int delayMs = 250, threshold = 8;
        await using var cluster = await ClusterHosts.StartAsync(output, "a", "b");
        await cluster.CreateClusterAsync(delayMs, threshold);
        var (a, b) = (cluster.Hosts[0], cluster.Hosts[1]);
        await cluster.StartCounterAsync(a, "busy");
        await a.Cluster.AddClusterVmRoleAsync(new AddClusterVmRoleRequest { VmName = "busy" });
        await ClusterHosts.WaitAsync(async () => (await a.Cluster.ListClusterGroupsAsync(new ListClusterGroupsRequest())).Groups.Single().State == "Online", "the group Online");
        var shutdown = a.Vms.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "busy" }, TimeoutSeconds = 60 }).ResponseAsync;
        await ClusterHosts.WaitAsync(async () => (await a.Vms.GetVmAsync(new VmRef { Name = "busy" })).State == VmState.Stopping, "the guest shutdown under way");

        var clock = Stopwatch.StartNew();
        cluster.Etcd.Pause();
        try
        {
            await ClusterHosts.WaitAsync(async () => (await a.RunningAsync()).Count == 0 && (await a.Vms.GetVmAsync(new VmRef { Name = "busy" })).State == VmState.Off, "the busy VM fenced", TimeSpan.FromSeconds(6));
            double off = clock.Elapsed.TotalMilliseconds;
            output.WriteLine($"etcd paused -> busy VM off on a: {off:0} ms (lease TTL 2000 ms)");
            Assert.True(off < 2000 - delayMs, $"the busy VM ran {off:0} ms after etcd went away: its lease may have expired by then");
            Assert.Contains("while it is stopping", a.Process.Log);
        }
        finally { cluster.Etcd.Resume(); }
        await shutdown; // the shutdown it was busy with ends with the worker

        await ClusterHosts.WaitAsync(async () =>
        {
            await FailoverTests.AssertNoVmOnTwoHosts(a, b);
            var group = (await a.Cluster.ListClusterGroupsAsync(new ListClusterGroupsRequest())).Groups.Single();
            return group.State == "Online" && (await (group.OwnerNode == "a" ? a : b).RunningAsync()).Count == 1;
        }, "the group Online again after etcd came back");
    }
}
