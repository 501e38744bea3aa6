using System.Diagnostics;
using HyperSharp.Api.V1;
using HyperSharp.Host.Tests.Migration;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests.Cluster;

/// <summary>
/// Suspend-ClusterNode -Drain and Resume-ClusterNode -Failback Immediate on a real etcd with three `hyper host` nodes that
/// take live migrations over mutual TLS, the counting guests' folders on shared storage: the drained node's VMs move by
/// live migration, highest priority first, and count on with no line lost or repeated; failback brings them back the same
/// way; a node killed in the middle of its drain loses no VM and leaves none running on two nodes.
/// </summary>
public sealed class DrainTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);
    private static readonly (string Name, int Priority)[] Roles = [("low", 1000), ("high", 3000), ("medium", 2000)];

    [Fact]
    public async Task ADrainedNodeLiveMigratesItsVmsAwayAndFailbackBringsThemBackCountingOn()
    {
        await using var cluster = await ClusterHosts.StartMigratingAsync(output, "a", "b", "c");
        await cluster.CreateClusterAsync();
        var (a, b, c) = (cluster.Hosts[0], cluster.Hosts[1], cluster.Hosts[2]);
        var taps = new Dictionary<string, List<ConsoleTap>>();
        foreach (var (name, priority) in Roles)
        {
            await cluster.StartCounterAsync(a, name);
            taps[name] = [ConsoleTap.Attach(a.Vms, name, Patience)];
            await a.Cluster.AddClusterVmRoleAsync(new AddClusterVmRoleRequest { VmName = name, Priority = priority });
        }
        await ClusterHosts.WaitAsync(async () => (await Groups(b)).All(g => g.State == "Online"), "every group Online on a");
        foreach (var (name, list) in taps) await list[0].WaitForAsync(t => CounterOutput.Numbers(t).Count >= 3, Patience, $"{name} counting on a");

        // Drain, asked of another node: the answer comes when the drain has ended.
        var clock = Stopwatch.StartNew();
        var drained = await b.Maintenance.SuspendClusterNodeAsync(new SuspendClusterNodeRequest { Name = "a", Drain = true });
        output.WriteLine($"Suspend-ClusterNode a -Drain: {Roles.Length} VMs in {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal(("Paused", "Completed", ""), (drained.State, drained.DrainStatus, drained.DrainError));
        var groups = await Groups(c);
        Assert.All(groups, g => Assert.True(g.OwnerNode is "b" or "c" && g.State == "Online", $"{g.Name}: {g.OwnerNode} {g.State}"));
        Assert.Empty(await a.RunningAsync());
        await FailoverTests.AssertNoVmOnTwoHosts(a, b, c);
        AssertInOrder(a.Process.Log, "moved to", ["high", "medium", "low"]);
        foreach (var g in groups) await CountsOnAsync(taps[g.Name], g.OwnerNode == "b" ? b : c, g.Name);

        // A paused node takes nothing: a move there is refused, naming its state.
        var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => b.Maintenance.MoveClusterVmRoleAsync(new MoveClusterVmRoleRequest { Name = "high", Node = "a" }).ResponseAsync);
        Assert.Contains("Paused", refused.Status.Detail);

        clock.Restart();
        var resumed = await c.Maintenance.ResumeClusterNodeAsync(new ResumeClusterNodeRequest { Name = "a", Failback = "Immediate" });
        output.WriteLine($"Resume-ClusterNode a -Failback Immediate: {Roles.Length} VMs back in {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal("Up", resumed.State);
        Assert.All(await Groups(b), g => Assert.Equal(("a", "Online"), (g.OwnerNode, g.State)));
        Assert.Equal(3, (await a.RunningAsync()).Count);
        await FailoverTests.AssertNoVmOnTwoHosts(a, b, c);
        foreach (var (name, _) in Roles) await CountsOnAsync(taps[name], a, name);

        // Move-ClusterVirtualMachineRole -MigrationType Live, one group, asked of a node that does not own it.
        var moved = await c.Maintenance.MoveClusterVmRoleAsync(new MoveClusterVmRoleRequest { Name = "medium", Node = "b", MigrationType = "Live" });
        Assert.Equal(("b", "Online"), (moved.OwnerNode, moved.State));
        await CountsOnAsync(taps["medium"], b, "medium");
        await FailoverTests.AssertNoVmOnTwoHosts(a, b, c);

        // Every incarnation's console, in order: 1, 2, 3... with no line lost or repeated across the moves.
        foreach (var (name, _) in Roles) await b.Cluster.StopClusterGroupAsync(new ClusterGroupRequest { Name = name });
        foreach (var (name, list) in taps)
        {
            await list[^1].Ended.WaitAsync(Patience);
            CounterOutput.AssertConsecutiveFromOne(string.Concat(list.Select(t => t.Text)));
        }
    }

    [Fact]
    public async Task ANodeKilledInTheMiddleOfItsDrainLosesNoVmAndLeavesNoneOnTwoNodes()
    {
        await using var cluster = await ClusterHosts.StartMigratingAsync(output, "a", "b", "c");
        await cluster.CreateClusterAsync(250, 8); // a 2 s lease: the failover of what the drain left comes quickly
        var (a, b, c) = (cluster.Hosts[0], cluster.Hosts[1], cluster.Hosts[2]);
        foreach (var (name, priority) in Roles)
        {
            await cluster.StartCounterAsync(a, name);
            await a.Cluster.AddClusterVmRoleAsync(new AddClusterVmRoleRequest { VmName = name, Priority = priority });
        }
        await ClusterHosts.WaitAsync(async () => (await Groups(b)).All(g => g.State == "Online"), "every group Online on a");

        var drain = b.Maintenance.SuspendClusterNodeAsync(new SuspendClusterNodeRequest { Name = "a", Drain = true, WaitSeconds = 300 }).ResponseAsync;
        // Killed while the second group is on its way (the first has moved).
        await ClusterHosts.WaitAsync(() => Task.FromResult(a.Process.Log.Contains("moving group medium")), "the drain moving its second group");
        a.Kill();
        output.WriteLine("node a killed in the middle of its drain");

        await ClusterHosts.WaitAsync(async () =>
        {
            await FailoverTests.AssertNoVmOnTwoHosts(b, c);
            var groups = await Groups(b);
            if (!groups.All(g => g.State == "Online" && g.OwnerNode is "b" or "c")) return false;
            // No VM lost: each group runs on the node that owns it.
            foreach (var g in groups)
                Assert.Contains((await (g.OwnerNode == "b" ? b : c).RunningAsync()), v => v.Name == g.Name);
            return true;
        }, "every group Online on b or c after node a died", Patience);
        await FailoverTests.AssertNoVmOnTwoHosts(b, c);
        Assert.Equal(3, (await b.RunningAsync()).Count + (await c.RunningAsync()).Count);
        // The drain's answer: a's drain failed (it went down), said by the nodes that remain.
        var answer = await drain;
        output.WriteLine($"the drain's answer: {answer.State} {answer.DrainStatus}: {answer.DrainError}");
        Assert.Equal(("Down", "Failed"), (answer.State, answer.DrainStatus));
    }

    private static async Task<List<ClusterGroup>> Groups(ClusterHost host) => [.. (await host.Cluster.ListClusterGroupsAsync(new ListClusterGroupsRequest())).Groups];

    /// <summary>The VM counts on at <paramref name="host"/>, and its console on the host it left has closed.</summary>
    private static async Task CountsOnAsync(List<ConsoleTap> taps, ClusterHost host, string name)
    {
        var tap = ConsoleTap.Attach(host.Vms, name, Patience);
        taps.Add(tap);
        await tap.WaitForAsync(t => CounterOutput.Numbers(t).Count >= 3, Patience, $"{name} counting on {host.Name}");
        await taps[^2].Ended.WaitAsync(Patience);
    }

    /// <summary>The host's log names the groups in this order on lines holding <paramref name="what"/>.</summary>
    private static void AssertInOrder(string log, string what, string[] groups)
    {
        var at = groups.Select(g => log.IndexOf($"group {g} {what}", StringComparison.Ordinal)).ToList();
        Assert.All(at, i => Assert.True(i >= 0, $"the log has no 'group ... {what}' line for each of {string.Join(", ", groups)}"));
        Assert.Equal(at.Order(), at);
    }
}
