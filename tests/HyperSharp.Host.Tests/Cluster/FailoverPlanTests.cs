using HyperSharp.Cluster;

namespace HyperSharp.Host.Tests.Cluster;

/// <summary>The failover plan every surviving node computes: priority order, No Auto Start, placement by free memory.</summary>
public sealed class FailoverPlanTests
{
    private const long MiB = 1 << 20;

    private static GroupView Orphan(string name, int priority, long memory = 64 * MiB) =>
        new(new GroupRecord { Name = name, VmFolder = "/shared/" + name, Priority = priority, MemoryBytes = memory, Online = true, VmId = Guid.NewGuid() }, null, 0, null);

    private static ClusterSnapshot Snapshot(IEnumerable<(string Node, long Free)> nodes, params GroupView[] groups)
    {
        var snapshot = new ClusterSnapshot();
        foreach (var (node, free) in nodes) snapshot.Alive[node] = new NodeHeartbeat { FreeMemoryBytes = free };
        snapshot.Groups.AddRange(groups);
        return snapshot;
    }

    [Fact]
    public void OnlyTheHighestPriorityWaitingGoesFirstAndNoAutoStartNever()
    {
        var plan = FailoverPlan.Decide(Snapshot([("b", 1024 * MiB), ("c", 1024 * MiB)],
            Orphan("low", 1000), Orphan("high1", 3000), Orphan("none", 0), Orphan("high2", 3000), Orphan("medium", 2000)));
        Assert.Equal(["high1", "high2"], plan.Select(p => p.Group.Name));
        // Spread by free memory: the first to b (ties by name), then c has more left.
        Assert.Equal(["b", "c"], plan.Select(p => p.Node));
    }

    [Fact]
    public void ALowerPriorityWaitsWhileAHigherOneIsClaimedButNotRunning()
    {
        var starting = Orphan("high", 3000) with { Owner = "b", OwnerRevision = 7 };
        Assert.Empty(FailoverPlan.Decide(Snapshot([("b", 1024 * MiB)], starting, Orphan("medium", 2000))));
        var running = starting with { Status = new GroupStatus { Node = "b", OwnerRevision = 7, State = GroupState.Online } };
        Assert.Equal("medium", Assert.Single(FailoverPlan.Decide(Snapshot([("b", 1024 * MiB)], running, Orphan("medium", 2000)))).Group.Name);
        // An older owner's Online says nothing of the current one.
        var stale = starting with { Status = new GroupStatus { Node = "a", OwnerRevision = 3, State = GroupState.Online } };
        Assert.Empty(FailoverPlan.Decide(Snapshot([("b", 1024 * MiB)], stale, Orphan("medium", 2000))));
    }

    [Fact]
    public void AGroupThatFitsNowhereIsRefusedNamingTheMemory()
    {
        var placement = Assert.Single(FailoverPlan.Decide(Snapshot([("b", 100 * MiB), ("c", 200 * MiB)], Orphan("big", 2000, 512 * MiB))));
        Assert.Null(placement.Node);
        Assert.Contains("no node has 512 MiB free (the most is 200 MiB on c)", placement.Refusal);
    }

    [Theory]
    [InlineData(1000, 10, 10)]
    [InlineData(250, 4, 1)]
    [InlineData(300, 5, 2)]
    public void TheLeaseLastsDelayTimesThresholdInWholeSeconds(int delay, int threshold, long ttl) =>
        Assert.Equal(ttl, new ClusterRecord { Name = "c", SameSubnetDelayMs = delay, SameSubnetThreshold = threshold }.LeaseTtlSeconds);

    [Fact]
    public void APriorityOutsideHyperVsFourIsRefused() =>
        Assert.Contains("1500 is not one of 3000 (High), 2000 (Medium), 1000 (Low), 0 (No Auto Start)", Assert.Throws<ClusterException>(() => GroupPriority.Check(1500)).Message);

    [Fact]
    public void ADrainSendsTheNodesGroupsHighestPriorityFirstToTheOtherNodesWithRoomAndSaysWhichStay()
    {
        GroupView Owned(string name, int priority, long memory = 64 * MiB) => Orphan(name, priority, memory) with { Owner = "a" };
        var snapshot = Snapshot([("a", 4096 * MiB), ("b", 300 * MiB), ("c", 200 * MiB)],
            Owned("low", 1000), Owned("high", 3000, 256 * MiB), Owned("big", 2000, 1024 * MiB), Orphan("elsewhere", 3000) with { Owner = "b" });
        var plan = FailoverPlan.Drain(snapshot, "a");
        Assert.Equal(["high", "big", "low"], plan.Select(p => p.Group.Name));
        Assert.Equal(["b", null, "c"], plan.Select(p => p.Node)); // high fills b; low goes where room is left; the draining node is no destination
        Assert.Contains("no node has 1024 MiB free", plan[1].Refusal);
    }

    [Fact]
    public void APausedNodeTakesNothingAndAGroupWhoseOwnerDiedMidMoveGoesToTheMovesDestination()
    {
        var snapshot = Snapshot([("b", 4096 * MiB), ("c", 64 * MiB)], Orphan("medium", 2000),
            Orphan("moving", 1000) with { Move = new MoveRecord { From = "a", To = "c", State = MoveState.Moving } });
        snapshot.Nodes.AddRange([new NodeRecord { Name = "b", Paused = true }, new NodeRecord { Name = "c" }]);
        var plan = FailoverPlan.Decide(snapshot);
        // The moving group first and to c whatever its priority (it may run there already); medium not to paused b.
        Assert.Equal([("moving", "c"), ("medium", "c")], plan.Select(p => (p.Group.Name, p.Node)));
    }

    [Fact]
    public void PreferredOwnersComeFirstInTheirOrderWhileTheyHaveRoom()
    {
        var db = Orphan("db", 3000) with { Record = Orphan("db", 3000).Record with { PreferredOwners = ["c", "b"] } };
        Assert.Equal("c", Assert.Single(FailoverPlan.Decide(Snapshot([("b", 4096 * MiB), ("c", 128 * MiB), ("d", 8192 * MiB)], db))).Node);
        // c has no room: the next preferred, b, before d which has the most.
        Assert.Equal("b", Assert.Single(FailoverPlan.Decide(Snapshot([("b", 4096 * MiB), ("c", 32 * MiB), ("d", 8192 * MiB)], db))).Node);
        // No preferred owner has room: any node that has.
        Assert.Equal("d", Assert.Single(FailoverPlan.Decide(Snapshot([("b", 32 * MiB), ("c", 32 * MiB), ("d", 8192 * MiB)], db))).Node);
    }

    [Fact]
    public void GroupsOfOneAntiAffinityClassGoToDifferentNodesWhileThereIsRoomAndShareOneOnlyWhenNot()
    {
        GroupView Dc(string name) => Orphan(name, 3000) with { Record = Orphan(name, 3000).Record with { AntiAffinityClassNames = ["domain-controllers"] } };
        var running = Dc("dc1") with { Owner = "b", OwnerRevision = 5, Status = new GroupStatus { Node = "b", OwnerRevision = 5, State = GroupState.Online } };
        // b runs dc1 and has the most room: dc2 and dc3 still go elsewhere, one each to c and d.
        var plan = FailoverPlan.Decide(Snapshot([("b", 8192 * MiB), ("c", 1024 * MiB), ("d", 2048 * MiB)], running, Dc("dc2"), Dc("dc3")));
        Assert.Equal([("dc2", "d"), ("dc3", "c")], plan.Select(p => (p.Group.Name, p.Node)));
        // Soft, as Hyper-V's default: with only b up, dc2 runs beside dc1 rather than not at all.
        Assert.Equal("b", Assert.Single(FailoverPlan.Decide(Snapshot([("b", 8192 * MiB)], running, Dc("dc2")))).Node);
    }
}
