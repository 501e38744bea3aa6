using System.Diagnostics;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests.Cluster;

/// <summary>
/// A node stopped on purpose (its `hyper host` sent SIGTERM) hands its clustered VMs over at once: it turns them off and
/// gives its lease back, so another node owns and runs them well before the lease's TTL (Hyper-V's default 10 s) could
/// have passed; the VM never runs on both.
/// </summary>
public sealed class NodeLeaveTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ANodeStoppedWithSigtermHandsItsVmsOverBeforeItsLeaseCouldExpire()
    {
        await using var cluster = await ClusterHosts.StartAsync(output, "a", "b");
        await cluster.CreateClusterAsync(); // 1 s × 10: a 10 s lease
        var (a, b) = (cluster.Hosts[0], cluster.Hosts[1]);
        await cluster.StartCounterAsync(a, "handed");
        await a.Cluster.AddClusterVmRoleAsync(new AddClusterVmRoleRequest { VmName = "handed" });
        await ClusterHosts.WaitAsync(async () => (await Group(b)).State == "Online", "the group Online on a");

        var clock = Stopwatch.StartNew();
        var stopped = a.Process.TerminateAsync(TimeSpan.FromMinutes(2));
        double owned = 0;
        await ClusterHosts.WaitAsync(async () =>
        {
            // Until a's API is gone (it stops serving after it handed its VMs over), the VM is never listed by both. A call
            // that meets a's server closing its connections (HTTP/2 GOAWAY mid-call) fails as Internal rather than Unavailable.
            try { await FailoverTests.AssertNoVmOnTwoHosts(a, b); }
            catch (Grpc.Core.RpcException e) when (e.StatusCode is Grpc.Core.StatusCode.Unavailable or Grpc.Core.StatusCode.Internal)
            {
                await FailoverTests.AssertNoVmOnTwoHosts(b);
            }
            var group = await Group(b);
            if (group.OwnerNode == "b" && owned == 0) owned = clock.Elapsed.TotalMilliseconds;
            return group.OwnerNode == "b" && group.State == "Online";
        }, "the group Online on b");
        double online = clock.Elapsed.TotalMilliseconds;
        output.WriteLine($"SIGTERM -> owned by b: {owned:0} ms, Online on b: {online:0} ms (lease TTL 10000 ms)");
        Assert.Equal(0, await stopped);
        Assert.True(owned < 10_000, $"b owned the group only {owned:0} ms after a was stopped: a's lease was not given back");
        Assert.Contains("gave its lease", a.Process.Log);
        Assert.Single(await b.RunningAsync());
    }

    private static async Task<ClusterGroup> Group(ClusterHost host) => (await host.Cluster.ListClusterGroupsAsync(new ListClusterGroupsRequest())).Groups.Single();
}
