using HyperSharp.Host.Service.Memory;
using HyperSharp.Inventory;

namespace HyperSharp.Host.Tests.Memory;

/// <summary>Dynamic Memory's arithmetic: demand plus buffer within the bounds, demand before buffers, priority when scarce, minimums kept.</summary>
public class DynamicMemoryBalancerTests
{
    private const long MiB = 1L << 20, GiB = 1L << 30;

    private static BalancedVm Vm(long demand, long assigned = 512 * MiB, int buffer = 20, int priority = 50, long min = 256 * MiB, long max = 4 * GiB) =>
        new(Guid.NewGuid(), new MemorySettings { DynamicMemoryEnabled = true, StartupBytes = 512 * MiB, MinimumBytes = min, MaximumBytes = max, Buffer = buffer, Priority = priority },
            assigned, demand);

    [Fact]
    public void With_memory_to_spare_each_VM_gets_its_demand_plus_its_buffer_within_its_bounds()
    {
        var plain = Vm(demand: 1000 * MiB);
        var generous = Vm(demand: 1000 * MiB, buffer: 100);
        var capped = Vm(demand: 3 * GiB, max: 2 * GiB);
        var idle = Vm(demand: 50 * MiB, min: 256 * MiB);
        var targets = DynamicMemoryBalancer.Targets([plain, generous, capped, idle], 64 * GiB);
        Assert.Equal(1200 * MiB, targets[plain.Id]);
        Assert.Equal(2000 * MiB, targets[generous.Id]);
        Assert.Equal(2 * GiB, targets[capped.Id]);
        Assert.Equal(256 * MiB, targets[idle.Id]);
    }

    [Fact]
    public void A_VM_whose_guest_has_not_reported_keeps_what_it_has()
    {
        var quiet = Vm(demand: 0, assigned: 768 * MiB);
        Assert.Equal(768 * MiB, DynamicMemoryBalancer.Targets([quiet], 64 * GiB)[quiet.Id]);
    }

    [Fact]
    public void When_memory_is_short_demand_is_met_before_any_buffer_and_the_rest_goes_by_priority()
    {
        var high = Vm(demand: 1 * GiB, priority: 80);
        var low = Vm(demand: 1 * GiB, priority: 20);
        long pool = 2 * GiB + 200 * MiB; // both demands, and 200 MiB of the 2 × ~205 MiB of buffer they want
        var targets = DynamicMemoryBalancer.Targets([high, low], pool);
        Assert.True(targets[high.Id] >= 1 * GiB && targets[low.Id] >= 1 * GiB, $"{targets[high.Id] / MiB} / {targets[low.Id] / MiB} MiB");
        Assert.True(targets[high.Id] > targets[low.Id] + 100 * MiB, $"{targets[high.Id] / MiB} vs {targets[low.Id] / MiB} MiB");
        Assert.InRange(targets[high.Id] + targets[low.Id], pool - 4 * MiB, pool);
    }

    [Fact]
    public void When_demand_itself_does_not_fit_priority_decides_who_is_short()
    {
        var high = Vm(demand: 2 * GiB, priority: 100);
        var low = Vm(demand: 2 * GiB, priority: 0);
        var targets = DynamicMemoryBalancer.Targets([high, low], 3 * GiB);
        Assert.Equal(2 * GiB, targets[high.Id]); // its share (101/102 of what is above the minimums) covers it
        Assert.InRange(targets[low.Id], 256 * MiB, 3 * GiB - 2 * GiB);
        Assert.True(targets[high.Id] + targets[low.Id] <= 3 * GiB);
    }

    [Fact]
    public void An_overcommitted_host_leaves_every_VM_its_minimum_and_never_less()
    {
        var a = Vm(demand: 2 * GiB, min: 1 * GiB);
        var b = Vm(demand: 2 * GiB, min: 512 * MiB);
        var targets = DynamicMemoryBalancer.Targets([a, b], 1 * GiB);
        Assert.Equal((1 * GiB, 512 * MiB), (targets[a.Id], targets[b.Id]));
    }

    [Fact]
    public void Targets_move_in_whole_steps_of_the_hot_add_block()
    {
        var a = Vm(demand: 333 * MiB + 12345, priority: 37);
        var b = Vm(demand: 777 * MiB + 1, priority: 91);
        foreach (long pool in new[] { 900 * MiB, 1100 * MiB + 3, 64 * GiB })
            foreach (var target in DynamicMemoryBalancer.Targets([a, b], pool).Values)
                Assert.Equal(0, target % DynamicMemoryBalancer.Granularity);
    }
}
