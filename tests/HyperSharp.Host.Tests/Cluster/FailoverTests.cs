using System.Diagnostics;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests.Cluster;

/// <summary>
/// Failover on a real etcd with three `hyper host` nodes sharing a VM folder: four counting guests of every priority run
/// on one node; that node dies (its host and workers SIGKILLed); the others start its VMs High, then Medium, then Low
/// (the hosts' own start times say so), No Auto Start stays off, and no VM is ever listed running by two hosts.
/// </summary>
public sealed class FailoverTests(ITestOutputHelper output)
{
    private static readonly (string Name, int Priority)[] Roles = [("low", 1000), ("high", 3000), ("noauto", 0), ("medium", 2000)];

    [Fact]
    public async Task ANodeThatDiesHasItsVmsStartedOnTheOthersInPriorityOrder()
    {
        await using var cluster = await ClusterHosts.StartAsync(output, "a", "b", "c");
        var info = await cluster.CreateClusterAsync();
        Assert.Equal((1000, 10), (info.SameSubnetDelayMs, info.SameSubnetThreshold)); // Hyper-V's defaults
        var (a, b, c) = (cluster.Hosts[0], cluster.Hosts[1], cluster.Hosts[2]);
        foreach (var (name, priority) in Roles)
        {
            await cluster.StartCounterAsync(a, name);
            var group = await a.Cluster.AddClusterVmRoleAsync(new AddClusterVmRoleRequest { VmName = name, Priority = priority });
            Assert.Equal(("a", priority), (group.OwnerNode, group.Priority));
        }
        await ClusterHosts.WaitAsync(async () => (await Groups(b)).All(g => g.State == "Online"), "every group Online on a");
        Assert.Equal(4, (await a.RunningAsync()).Count);

        var clock = Stopwatch.StartNew();
        a.Kill();
        var online = new Dictionary<string, double>();
        await ClusterHosts.WaitAsync(async () =>
        {
            await AssertNoVmOnTwoHosts(b, c);
            foreach (var g in await Groups(b))
                if (g.State == "Online" && g.OwnerNode != "a") online.TryAdd(g.Name, clock.Elapsed.TotalMilliseconds);
            return online.Count == 3;
        }, "high, medium and low Online on b or c");
        output.WriteLine($"node killed -> Online elsewhere: {string.Join(", ", online.OrderBy(o => o.Value).Select(o => $"{o.Key} {o.Value:0} ms"))}");

        var groups = (await Groups(b)).ToDictionary(g => g.Name);
        Assert.Equal("Offline", groups["noauto"].State);
        Assert.Equal("", groups["noauto"].OwnerNode);
        // Start order from the hosts' own records: each VM's start instant (now less its uptime) on the host that runs it.
        var started = new Dictionary<string, DateTime>();
        foreach (var host in new[] { b, c })
        {
            var now = DateTime.UtcNow;
            foreach (var vm in await host.RunningAsync())
            {
                started[vm.Name] = now - TimeSpan.FromMilliseconds(vm.UptimeMs);
                Assert.Equal(host.Name, groups[vm.Name].OwnerNode); // etcd's owner is the host that runs it
            }
        }
        Assert.Equal(["high", "low", "medium"], started.Keys.Order());
        Assert.True(started["high"] < started["medium"] && started["medium"] < started["low"],
            $"started out of priority order: {string.Join(", ", started.OrderBy(s => s.Value).Select(s => s.Key))}");
        Assert.True(groups["high"].StateChangedUnixMs <= groups["medium"].StateChangedUnixMs && groups["medium"].StateChangedUnixMs <= groups["low"].StateChangedUnixMs);
        await AssertNoVmOnTwoHosts(b, c);

        // No Auto Start comes back when asked: Start-ClusterGroup on a node that is up runs it there.
        var noauto = await c.Cluster.StartClusterGroupAsync(new ClusterGroupRequest { Name = "noauto" });
        Assert.Equal(("Online", "c"), (noauto.State, noauto.OwnerNode));
        await AssertNoVmOnTwoHosts(b, c);

        // Node a comes back (its host restarted on the same inventory): it is Up again, gets nothing back (no failback),
        // and stops listing the VMs it ran, which run elsewhere now; a clustered VM never starts by a host's own automatic start.
        var back = await cluster.StartNodeAsync("a");
        await ClusterHosts.WaitAsync(async () => (await b.Cluster.ListClusterNodesAsync(new ListClusterNodesRequest { Name = "a" })).Nodes.Single().State == "Up", "node a Up again");
        await ClusterHosts.WaitAsync(async () => (await back.Host.ListAsync()).Vms.Count == 0, "node a no longer listing the VMs that run elsewhere");
        Assert.All(await Groups(b), g => Assert.NotEqual("a", g.OwnerNode));
        // The VMs' folders are shared: node a left the runtime records the new owners wrote as they were (Running).
        foreach (var name in new[] { "high", "medium", "low" })
            Assert.Contains("\"state\": \"Running\"", File.ReadAllText(Path.Combine(groups[name].VmFolder, "runtime.json")));
        await AssertNoVmOnTwoHosts(back, b, c);
        var moved = (await (groups["high"].OwnerNode == "b" ? b : c).Vms.GetVmAsync(new VmRef { Name = "high" })).AutomaticStartAction;
        Assert.Equal(AutomaticStartAction.Nothing, moved);
    }

    private static async Task<List<ClusterGroup>> Groups(ClusterHost host) => [.. (await host.Cluster.ListClusterGroupsAsync(new ListClusterGroupsRequest())).Groups];

    /// <summary>No VM id is listed running (or starting) by two hosts at once.</summary>
    internal static async Task AssertNoVmOnTwoHosts(params ClusterHost[] hosts)
    {
        var seen = new Dictionary<string, string>();
        foreach (var host in hosts)
            foreach (var vm in await host.RunningAsync())
                Assert.True(seen.TryAdd(vm.Id, host.Name), $"VM {vm.Name} runs on {seen.GetValueOrDefault(vm.Id)} and on {host.Name}");
    }
}
