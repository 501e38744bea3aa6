using HyperSharp.Host.Platform;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Service.Memory;

/// <summary>How the host's Dynamic Memory balancer runs.</summary>
public sealed record MemoryBalancerOptions
{
    /// <summary>How often the balancer looks at the VMs (Hyper-V rebalances about once a second).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one resize waits for the guest before what it has not done is withdrawn (it is asked again next round).</summary>
    public TimeSpan ResizeWait { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// All the memory the VMs with dynamic memory may have together; null: what they have now plus the host's
    /// MemAvailable less <see cref="HostReserve"/>. An administrator's cap, and how tests make memory scarce.
    /// </summary>
    public long? PoolBytes { get; init; }

    /// <summary>The memory kept for the host itself (its page cache, the workers' own memory): 1/16 of its memory, 512 MiB to 2 GiB.</summary>
    public static long HostReserve(long totalBytes) => Math.Clamp(totalBytes / 16, 512L << 20, 2L << 30);
}

/// <summary>
/// Dynamic Memory's balancer: every interval it asks each running VM with dynamic memory for its assigned memory and
/// demand (the worker's status, from the guest's balloon statistics), works out every VM's target with
/// <see cref="DynamicMemoryBalancer"/>, and resizes the VMs whose target moved enough to be worth it (hot-add to grow,
/// balloon or unplug to shrink — the same path as Set-VMMemory). Resizes run side by side, each bounded by
/// <see cref="MemoryBalancerOptions.ResizeWait"/>; a VM in the middle of an administrator's operation is left for the
/// next round rather than raced.
/// </summary>
public sealed class MemoryBalancer(Func<IReadOnlyList<ManagedVm>> vms, IWorkerSupervisor workers, MemoryBalancerOptions options, Action<string> log)
{
    /// <summary>A change smaller than this (or than 1/32 of what the VM has) is not worth a resize.</summary>
    public const long MinimumStep = 32L << 20;

    /// <summary>Rounds a resized VM sits out: the statistics its next status carries were asked for before the change.</summary>
    public const int SettleRounds = 2;

    private readonly Dictionary<Guid, (int Rounds, long Assigned)> _settling = [];

    public Task RunAsync(CancellationToken stopping) => Task.Run(async () =>
    {
        using var timer = new PeriodicTimer(options.Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                try { await BalanceOnceAsync(stopping).ConfigureAwait(false); }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    log($"dynamic memory: a balancing round failed (the next one runs as usual): {e}"); // one VM's oddity must not end balancing for all
                }
            }
        }
        catch (OperationCanceledException) { }
    }, CancellationToken.None);

    /// <summary>One round: look, decide, resize. Returns the targets it asked for (empty when nothing moved).</summary>
    public async Task<IReadOnlyDictionary<Guid, long>> BalanceOnceAsync(CancellationToken cancellationToken)
    {
        var running = vms().Where(vm => vm.State == PowerState.Running && vm.Config.Memory.DynamicMemoryEnabled && !Settling(vm.Id)).ToList();
        if (running.Count == 0) return new Dictionary<Guid, long>();
        var looked = await Task.WhenAll(running.Select(vm => LookAsync(vm, cancellationToken))).ConfigureAwait(false);
        var balanced = looked.OfType<(ManagedVm Vm, BalancedVm State)>().ToList();
        if (balanced.Count == 0) return new Dictionary<Guid, long>();

        // A capped pool less what the VMs sitting out this round hold; else what these VMs hold plus what the host has free.
        long pool = options.PoolBytes is { } cap ? cap - _settling.Values.Sum(s => s.Assigned) : balanced.Sum(b => b.State.AssignedBytes)
            + Math.Max(0, HostMemory.AvailableBytes() - MemoryBalancerOptions.HostReserve(HostMemory.TotalBytes()));
        var targets = DynamicMemoryBalancer.Targets([.. balanced.Select(b => b.State)], pool);
        var moves = balanced.Where(b => WorthMoving(b.State.AssignedBytes, targets[b.State.Id]) && b.Vm.OperationName is null).ToList();
        await Task.WhenAll(moves.Select(b => ResizeAsync(b.Vm, b.State.AssignedBytes, targets[b.State.Id], cancellationToken))).ConfigureAwait(false);
        foreach (var b in moves) _settling[b.State.Id] = (SettleRounds, targets[b.State.Id]);
        return moves.ToDictionary(b => b.State.Id, b => targets[b.State.Id]);
    }

    private bool Settling(Guid id)
    {
        if (!_settling.TryGetValue(id, out var settling)) return false;
        if (settling.Rounds <= 1) _settling.Remove(id);
        else _settling[id] = settling with { Rounds = settling.Rounds - 1 };
        return true;
    }

    public static bool WorthMoving(long assigned, long target) => Math.Abs(target - assigned) >= Math.Max(MinimumStep, assigned / 32);

    private async Task<(ManagedVm, BalancedVm)?> LookAsync(ManagedVm vm, CancellationToken cancellationToken)
    {
        try
        {
            var status = await workers.SendAsync(vm, new WorkerRequest { Op = WorkerOps.Status }, cancellationToken).ConfigureAwait(false);
            if (!status.Running || status.Paused || status.MemoryAssignedBytes <= 0) return null;
            return (vm, new BalancedVm(vm.Id, vm.Config.Memory, status.MemoryAssignedBytes, status.MemoryDemandBytes));
        }
        catch (Exception e) when (e is WorkerException or IOException) { return null; } // stopping or gone: its end is reported elsewhere
    }

    private async Task ResizeAsync(ManagedVm vm, long assigned, long target, CancellationToken cancellationToken)
    {
        try
        {
            var done = await workers.SendAsync(vm, new WorkerRequest
            {
                Op = WorkerOps.SetMemory, MemoryBytes = target, WaitMs = (int)options.ResizeWait.TotalMilliseconds,
            }, cancellationToken).ConfigureAwait(false);
            log($"VM '{vm.Name}': dynamic memory {assigned >> 20} -> {done.MemoryAssignedBytes >> 20} MiB (target {target >> 20} MiB)");
        }
        catch (Exception e) when (e is WorkerException or IOException)
        {
            log($"VM '{vm.Name}': dynamic memory resize to {target >> 20} MiB failed: {e.Message}");
        }
    }
}
