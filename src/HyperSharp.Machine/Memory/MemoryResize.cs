using HyperSharp.Machine.Virtio.Mem;

namespace HyperSharp.Machine.Memory;

/// <summary>What a resize came to: the memory asked for, what the guest has when the wait ended, and the part it did not do.</summary>
public sealed record MemoryResizeOutcome(ulong TargetBytes, ulong AssignedBytes)
{
    /// <summary>Bytes between the target and what the guest has (memory it did not give back, or did not take, in the wait).</summary>
    public ulong ShortBytes => TargetBytes > AssignedBytes ? TargetBytes - AssignedBytes : AssignedBytes - TargetBytes;

    public bool Complete => ShortBytes == 0;
}

/// <summary>
/// Runtime resize of a running VM's memory. Above the boot size the guest gets the difference by hot-add (virtio-mem
/// plugs it; MemTotal grows); below it the balloon takes the difference (the guest hands pages back). A shrink of memory
/// that was hot-added unplugs it (MemTotal falls back) rather than ballooning it, so the guest's view and the host's
/// agree. The wait is on the devices' own change signals (the guest's driver says each step), bounded by the caller.
/// </summary>
/// <remarks>
/// At the end of the wait, what the guest has not done is withdrawn: the hot-add request drops to what is plugged and the
/// balloon's target to what it holds, rounded to the 2 MiB the configuration counts in. The memory assigned is then a
/// settled figure the host can record, rather than a request the guest keeps working on unseen.
/// </remarks>
public static class MemoryResize
{
    /// <summary>The granularity of a resize: virtio-mem's block, and the configuration's memory granularity.</summary>
    public const ulong Granularity = VirtioMemConstants.BlockSize;

    /// <summary>The memory the guest has now: boot RAM plus what is plugged, less what its balloon holds.</summary>
    public static ulong Assigned(VirtualMachine vm)
    {
        ulong plugged = vm.HotAdd?.PluggedBytes ?? 0, ballooned = vm.Balloon?.ActualBytes ?? 0;
        ulong total = vm.BootMemoryBytes + plugged;
        return total > ballooned ? total - ballooned : 0;
    }

    /// <summary>
    /// The guest's demand: the memory it has (<see cref="Assigned"/>) less what it could give to new work (MemAvailable,
    /// from its balloon statistics); 0 before it reports them. Counted against what it has rather than against its
    /// MemTotal, so memory the kernel reserved at boot (not in MemTotal) and balloon pages the guest counts as used (with
    /// deflate-on-OOM) are demand the host cannot take, as they are.
    /// </summary>
    public static ulong Demand(VirtualMachine vm)
    {
        if (vm.Balloon?.Statistics is not { AvailableBytes: ulong available }) return 0;
        ulong assigned = Assigned(vm);
        return assigned > available ? assigned - available : 0;
    }

    /// <summary>How <paramref name="target"/> splits into hot-added memory and a balloon, from a machine that booted with <paramref name="boot"/>.</summary>
    public static (ulong HotAdd, ulong Balloon) Split(ulong boot, ulong target) =>
        target >= boot ? (RoundUp(target - boot), 0) : (0, boot - target);

    /// <summary>Why <paramref name="vm"/> cannot have <paramref name="target"/> bytes while it runs; null when it can.</summary>
    public static string? Refusal(VirtualMachine vm, ulong target)
    {
        var (hotAdd, balloon) = Split(vm.BootMemoryBytes, target);
        if (hotAdd > 0 && vm.HotAdd is null)
            return $"the VM started without hot-add memory, so it cannot grow past the {vm.BootMemoryBytes >> 20} MiB it booted with while it runs; "
                + "turn it off and enable runtime memory resize (or dynamic memory) to grow it while it runs";
        if (vm.HotAdd is { } mem && hotAdd > mem.RegionSize)
            return $"{target >> 20} MiB is more than this run of the VM can reach: it booted with {vm.BootMemoryBytes >> 20} MiB and "
                + $"{mem.RegionSize >> 20} MiB of hot-add memory, at most {(vm.BootMemoryBytes + mem.RegionSize) >> 20} MiB; turn it off to give it more";
        if (balloon > 0 && vm.Balloon is null)
            return $"the VM started without a memory balloon, so it cannot shrink below the {vm.BootMemoryBytes >> 20} MiB it booted with while it runs";
        return null;
    }

    /// <summary>
    /// Asks the guest for <paramref name="target"/> bytes and waits up to <paramref name="wait"/> for it; what it did not do
    /// by then is withdrawn (see the remarks). Throws <see cref="InvalidOperationException"/> with <see cref="Refusal"/>'s reason.
    /// </summary>
    public static async Task<MemoryResizeOutcome> ResizeAsync(VirtualMachine vm, ulong target, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        if (Refusal(vm, target) is { } why) throw new InvalidOperationException(why);
        var (hotAdd, balloon) = Split(vm.BootMemoryBytes, target);
        var changed = new SemaphoreSlim(0); // not disposed: a device thread may still signal it just after the wait
        void Signal() => changed.Release();
        if (vm.HotAdd is { } mem) mem.Changed += Signal;
        if (vm.Balloon is { } b) b.Changed += Signal;
        try
        {
            vm.HotAdd?.SetRequestedSize(hotAdd);
            // A shrink that both unplugs and inflates unplugs first: the pages left in the hot-added blocks must move into
            // boot memory, which a balloon inflating at the same time would be taking from under them (seen: hot-added
            // blocks left plugged while the balloon held the boot memory they needed).
            bool unplugFirst = (vm.HotAdd?.PluggedBytes ?? 0) > hotAdd && balloon > (vm.Balloon?.ActualBytes ?? 0);
            if (!unplugFirst) vm.Balloon?.SetTarget(balloon);
            var deadline = DateTime.UtcNow + wait;
            while (!Reached(vm, hotAdd, balloon))
            {
                if (unplugFirst && (vm.HotAdd?.PluggedBytes ?? 0) <= hotAdd)
                {
                    unplugFirst = false;
                    vm.Balloon?.SetTarget(balloon);
                    continue;
                }
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !await changed.WaitAsync(left, cancellationToken).ConfigureAwait(false)) break;
            }
        }
        finally
        {
            if (vm.HotAdd is { } m) m.Changed -= Signal;
            if (vm.Balloon is { } bb) bb.Changed -= Signal;
        }
        if (!Reached(vm, hotAdd, balloon)) Settle(vm);
        ulong total = vm.BootMemoryBytes + (vm.HotAdd?.PluggedBytes ?? 0), held = RoundUp(vm.Balloon?.ActualBytes ?? 0);
        return new MemoryResizeOutcome(target, total > held ? total - held : 0);
    }

    private static bool Reached(VirtualMachine vm, ulong hotAdd, ulong balloon) =>
        (vm.HotAdd?.PluggedBytes ?? 0) == hotAdd && (vm.Balloon?.ActualBytes ?? 0) == balloon;

    /// <summary>Withdraws what the guest has not done: hot-add stays as plugged, the balloon keeps what it holds (to 2 MiB).</summary>
    private static void Settle(VirtualMachine vm)
    {
        if (vm.HotAdd is { } mem) mem.SetRequestedSize(mem.PluggedBytes);
        if (vm.Balloon is { } balloon) balloon.SetTarget(RoundUp(balloon.ActualBytes));
    }

    private static ulong RoundUp(ulong bytes) => (bytes + Granularity - 1) / Granularity * Granularity;
}
