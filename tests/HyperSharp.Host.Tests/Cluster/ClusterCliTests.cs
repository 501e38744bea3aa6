using Xunit.Abstractions;

namespace HyperSharp.Host.Tests.Cluster;

/// <summary>`hyper cluster ...` against a real etcd member and a `hyper host` that is node a (node b named, never started).</summary>
public sealed class ClusterCliTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AnAdministratorRunsTheClusterFromTheCli()
    {
        await using var cluster = await ClusterHosts.StartAsync(output, "a");
        var a = cluster.Hosts[0];
        CliResult Hyper(params string[] args) => CliRunner.Run(output, [.. args, "--host-socket", a.Host.Socket]);

        var created = Hyper("cluster", "new", "lab", "--node", "a", "--node", "b", "--same-subnet-delay", "500", "--same-subnet-threshold", "6");
        Assert.Equal(0, created.Exit);
        Assert.Matches(@"SameSubnetDelay:\s+500 ms", created.Out);
        Assert.Contains("This node:             a", Hyper("cluster", "show").Out);
        await ClusterHosts.WaitAsync(() => Task.FromResult(Hyper("cluster", "node", "list").Out.Contains("a                    Up")), "node a Up");
        Assert.Matches(@"b\s+Down\s+2", Hyper("cluster", "node", "list").Out);

        await cluster.StartCounterAsync(a, "web");
        Assert.Matches(@"web\s+a\s+\S+\s+1000", Hyper("cluster", "group", "add", "web", "--priority", "low").Out);
        Assert.Matches(@"web\s+a\s+\S+\s+3000", Hyper("cluster", "group", "set", "web", "--priority", "High").Out);
        Assert.Matches(@"web\s+a\s+Offline\s+3000", Hyper("cluster", "group", "stop", "web").Out);
        Assert.Empty(await a.RunningAsync());
        Assert.Matches(@"web\s+a\s+Online\s+3000", Hyper("cluster", "group", "start", "web").Out);
        Assert.Single(await a.RunningAsync());
        Assert.Contains("\"ownerNode\": \"a\"", Hyper("cluster", "group", "list", "w*", "--json").Out);

        // Drain with nowhere to go: Paused, the VM stays, the command fails saying why; resume makes the node Up again.
        var drain = Hyper("cluster", "node", "suspend", "a", "--drain");
        Assert.Equal((1, "a: Paused, drain Failed"), (drain.Exit, drain.Out.Trim()));
        Assert.Contains("the drain of node a failed: still on a: web", drain.Error);
        Assert.Single(await a.RunningAsync());
        Assert.Equal("a: Up, drain Failed", Hyper("cluster", "node", "resume", "a", "--failback", "immediate").Out.Trim());
        Assert.Contains("node 'b' is Down", Hyper("cluster", "group", "move", "web", "--node", "b").Error);
        Assert.Contains("--failback soon: give Immediate or NoFailback", Hyper("cluster", "node", "resume", "a", "--failback", "soon").Error);
        Assert.Equal("web: preferred owners [b, a], anti-affinity classes []", Hyper("cluster", "group", "set-owners", "web", "--owner", "B", "--owner", "a").Out.Trim());
        Assert.Equal("web: preferred owners [b, a], anti-affinity classes [sql]", Hyper("cluster", "group", "set-anti-affinity", "web", "--class", "sql").Out.Trim());
        Assert.Contains("preferred owner 'z' is not a node of cluster 'lab'", Hyper("cluster", "group", "set-owners", "web", "--owner", "z").Error);

        // Mistakes are said, naming what was wrong.
        var badPriority = Hyper("cluster", "group", "set", "web", "--priority", "urgent");
        Assert.NotEqual(0, badPriority.Exit);
        Assert.Contains("--priority urgent: give High (3000), Medium (2000), Low (1000) or NoAutoStart (0)", badPriority.Error);
        Assert.Contains("node 'a' owns web", Hyper("cluster", "node", "remove", "a").Error);
        Assert.Contains("no group named 'nosuch'", Hyper("cluster", "group", "start", "nosuch").Error);
        Assert.Contains("already holds a cluster", Hyper("cluster", "new", "again", "--node", "a").Error);
        Assert.Equal(0, Hyper("cluster", "node", "add", "c").Exit);
        Assert.Equal(0, Hyper("cluster", "node", "remove", "c").Exit);
        Assert.DoesNotContain("c   ", Hyper("cluster", "node", "list").Out);
    }

    [Fact]
    public async Task AHostThatIsNotANodeSaysHowToMakeItOne()
    {
        await using var fixture = await HostFixture.StartAsync(output);
        var refused = CliRunner.Run(output, "cluster", "show", "--host-socket", fixture.SocketPath);
        Assert.Equal(1, refused.Exit);
        Assert.Contains("this host is not a cluster node: start `hyper host` with --cluster-etcd", refused.Error);
    }
}
