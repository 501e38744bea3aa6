using HyperSharp.Host.Service.Domain;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Service.Memory;

/// <summary>
/// Set-VMMemory. On a VM that is Off every setting is stored. On a running VM with static memory, a new startup size
/// resizes it through its worker (hot-add to grow, the balloon or unplug to shrink), waiting a bounded time for the
/// guest; the configuration then records the memory that took effect — not the target — so vm.json, Get-VMMemory and
/// Get-VM's MemoryAssigned agree, and the answer and a MemoryResized event say what the guest did not do. Buffer and
/// Priority are stored at any time; the settings that decide the VM's hardware need it Off.
/// </summary>
public sealed class VmMemoryChanges(VmConfigurationStore store, VmLifecycle lifecycle)
{
    /// <summary>The change applied; for a running guest's resize, what it took (null when nothing was resized).</summary>
    public async Task<MemoryResize?> SetAsync(ManagedVm vm, VmMemoryChange change)
    {
        using var _ = lifecycle.Begin(vm, "reconfiguring");
        var current = vm.Config.Memory;
        var wanted = MemorySettingsRequest.Apply(current, change);
        var wait = MemorySettingsRequest.Wait(change);
        if (vm.State == PowerState.Off || wanted == current)
        {
            if (wanted != current) store.Commit(vm, vm.Config with { Memory = wanted });
            return null;
        }
        if (MemorySettingsRequest.NeedsOff(current, wanted) is { } hardware)
            throw HostErrors.WrongState(vm.Name, vm.State, $"change {hardware} (they decide the hardware the VM starts with) of");
        if (wanted.StartupBytes == current.StartupBytes)
        {
            store.Commit(vm, vm.Config with { Memory = wanted });
            return null;
        }
        if (vm.State != PowerState.Running) throw HostErrors.WrongState(vm.Name, vm.State, "resize the memory of");
        if (current.DynamicMemoryEnabled)
            throw HostErrors.Precondition($"VM '{vm.Name}' has dynamic memory: while it runs, the balancer sets its memory between its minimum and "
                + "maximum from the guest's demand, and its startup memory applies at its next start; change -MinimumBytes/-MaximumBytes/-Buffer/-Priority "
                + "instead, or turn the VM off");

        WorkerResponse resized;
        try
        {
            resized = await lifecycle.Workers.SendAsync(vm, new WorkerRequest
            {
                Op = WorkerOps.SetMemory, MemoryBytes = wanted.StartupBytes, WaitMs = (int)wait.TotalMilliseconds,
            }, CancellationToken.None).ConfigureAwait(false); // bounded by the wait; a client that leaves must not leave vm.json behind the guest
        }
        catch (WorkerException e) { throw HostErrors.Precondition($"VM '{vm.Name}': cannot resize its memory while it runs: {e.Message}"); }
        catch (IOException e) { throw HostErrors.Precondition($"VM '{vm.Name}': its worker did not answer the resize: {e.Message}"); }

        store.Commit(vm, vm.Config with { Memory = wanted with { StartupBytes = resized.MemoryAssignedBytes } });
        string message = resized.MemoryShortBytes == 0
            ? $"memory resized from {current.StartupBytes >> 20} MB to {resized.MemoryAssignedBytes >> 20} MB while running"
            : $"memory resized to {resized.MemoryAssignedBytes >> 20} MB of the {wanted.StartupBytes >> 20} MB asked for: the guest did not "
                + $"{(wanted.StartupBytes < current.StartupBytes ? "give back" : "take")} {resized.MemoryShortBytes >> 20} MB in {wait.TotalSeconds:0} s (withdrawn)";
        lifecycle.Publish(vm, VmChangeKind.MemoryResized, message);
        return new MemoryResize(resized.MemoryAssignedBytes, resized.MemoryShortBytes, resized.MemoryShortBytes > 0 ? message : null);
    }
}

/// <summary>A running guest's memory resize: what it has now, what it did not give or take, and the warning that says so (null when it did all).</summary>
public sealed record MemoryResize(long AssignedBytes, long UnreachedBytes, string? Warning);
