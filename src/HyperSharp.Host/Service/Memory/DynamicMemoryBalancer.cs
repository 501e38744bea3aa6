using HyperSharp.Inventory;

namespace HyperSharp.Host.Service.Memory;

/// <summary>One running VM with dynamic memory as the balancer sees it: its settings and what its worker last reported.</summary>
/// <param name="DemandBytes">the guest's demand (total less available memory, from its balloon statistics); 0 while it has not reported</param>
public sealed record BalancedVm(Guid Id, MemorySettings Settings, long AssignedBytes, long DemandBytes);

/// <summary>
/// Dynamic Memory's arithmetic: how much memory each running VM with dynamic memory should have, given what the host can
/// give them all. Hyper-V's rules: a VM wants its demand plus its buffer (a percentage of the demand), never below its
/// minimum nor above its maximum; when the host has less than all of them want, demand comes before buffers, and within
/// each the VMs with higher priority get the larger share. Minimums are guaranteed even when the host is overcommitted:
/// they are the memory the administrator promised the guest.
/// </summary>
/// <remarks>
/// Shares are weighted water-filling: the memory left is split in proportion to priority + 1 (so priority 0 still gets
/// a little, and 100 gets 101 times as much); a VM whose share covers what it still needs takes only that, and the rest
/// is split again among the others. Everything is rounded down to <see cref="Granularity"/>, the step the hot-add
/// device and the balloon move in.
/// </remarks>
public static class DynamicMemoryBalancer
{
    public const long Granularity = 2L << 20;

    /// <summary>What <paramref name="vm"/> wants with memory to spare: demand plus buffer within its bounds; what it has while its demand is unknown.</summary>
    public static long Desired(BalancedVm vm)
    {
        var m = vm.Settings;
        long wanted = vm.DemandBytes <= 0 ? vm.AssignedBytes : RoundUp(vm.DemandBytes + vm.DemandBytes / 100 * m.Buffer);
        return Math.Clamp(wanted, m.MinimumBytes, Math.Max(m.MinimumBytes, m.MaximumBytes));
    }

    /// <summary>
    /// The memory each VM should have when <paramref name="poolBytes"/> is all the host can give them together (their
    /// assigned memory included). Keyed by <see cref="BalancedVm.Id"/>.
    /// </summary>
    public static IReadOnlyDictionary<Guid, long> Targets(IReadOnlyList<BalancedVm> vms, long poolBytes)
    {
        var targets = vms.ToDictionary(v => v.Id, v => v.Settings.MinimumBytes);
        long left = poolBytes - targets.Values.Sum();
        if (left <= 0) return targets; // overcommitted: every VM at its guaranteed minimum, none below

        // First what the guests use, then the buffers on top of it.
        var demand = vms.ToDictionary(v => v.Id, v => Math.Min(Desired(v), Math.Max(v.Settings.MinimumBytes, RoundUp(v.DemandBytes > 0 ? v.DemandBytes : v.AssignedBytes))));
        left = Fill(vms, targets, demand, left);
        Fill(vms, targets, vms.ToDictionary(v => v.Id, Desired), left);
        return targets;
    }

    /// <summary>Raises each target toward <paramref name="goal"/> with <paramref name="left"/> bytes, by priority; returns what is left.</summary>
    private static long Fill(IReadOnlyList<BalancedVm> vms, Dictionary<Guid, long> targets, Dictionary<Guid, long> goal, long left)
    {
        var wanting = vms.Where(v => goal[v.Id] > targets[v.Id]).ToList();
        while (wanting.Count > 0 && left >= Granularity)
        {
            long weights = wanting.Sum(Weight);
            var satisfied = wanting.Where(v => goal[v.Id] - targets[v.Id] <= left * Weight(v) / weights).ToList();
            if (satisfied.Count == 0)
            {
                long shared = left;
                foreach (var v in wanting)
                {
                    long share = RoundDown(shared * Weight(v) / weights);
                    targets[v.Id] += share;
                    left -= share;
                }
                return left;
            }
            foreach (var v in satisfied)
            {
                left -= goal[v.Id] - targets[v.Id];
                targets[v.Id] = goal[v.Id];
                wanting.Remove(v);
            }
        }
        return left;
    }

    private static long Weight(BalancedVm vm) => Math.Clamp(vm.Settings.Priority, 0, 100) + 1;

    private static long RoundUp(long bytes) => (bytes + Granularity - 1) / Granularity * Granularity;

    private static long RoundDown(long bytes) => bytes / Granularity * Granularity;
}
