using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Service;

/// <summary>Start-VM, Stop-VM, Save-VM, Suspend-VM, Resume-VM, Restart-VM, and the host's automatic start and stop actions.</summary>
public sealed partial class VmManager
{
    public static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan TurnOffTimeout = TimeSpan.FromSeconds(15);

    public async Task<ManagedVm> StartAsync(VmRef reference, CancellationToken cancellationToken)
    {
        var vm = Find(reference);
        using var _ = Begin(vm, "starting");
        if (vm.State is not (VmState.Off or VmState.Saved)) throw HostErrors.WrongState(vm.Name, vm.State, "start");
        await LaunchAsync(vm, cancellationToken).ConfigureAwait(false);
        return vm;
    }

    public async Task<ManagedVm> StopAsync(StopVmRequest request, CancellationToken cancellationToken)
    {
        var vm = Find(request.Vm);
        int seconds = request.TimeoutSeconds == 0 ? (int)DefaultShutdownTimeout.TotalSeconds
            : RequestValidation.Range("timeout_seconds", request.TimeoutSeconds, 1, 3600, "the shutdown wait in seconds");
        using var _ = Begin(vm, "stopping");
        switch (vm.State)
        {
            case VmState.Off:
                return vm;
            case VmState.Saved:
                // Stop-VM on a saved VM discards the saved state (Hyper-V does the same). Something else in its place is not ours to remove.
                if (Directory.Exists(vm.Folder.SavedStateFile))
                    throw HostErrors.Precondition($"VM '{vm.Name}': {vm.Folder.SavedStateFile} is a directory, not a saved state; remove it to discard the VM's saved state");
                File.Delete(vm.Folder.SavedStateFile);
                lock (vm.Sync)
                {
                    vm.Runtime = vm.Runtime with { State = RecordedState.Off, LastOffReason = "its saved state was discarded (turned off)" };
                    VmInventory.Save(vm.Folder, vm.Runtime);
                }
                SetState(vm, VmState.Off, vm.Runtime.LastOffReason);
                return vm;
        }
        if (request.TurnOff || (vm.State == VmState.Paused && request.Force))
        {
            await TurnOffAsync(vm, cancellationToken).ConfigureAwait(false);
            return vm;
        }
        if (vm.State != VmState.Running) throw HostErrors.WrongState(vm.Name, vm.State, "shut down");
        SetState(vm, VmState.Stopping);
        await AskAsync(vm, WorkerOps.Shutdown, cancellationToken).ConfigureAwait(false);
        if (await WaitForExitAsync(vm, TimeSpan.FromSeconds(seconds)).ConfigureAwait(false)) return vm;
        if (request.Force)
        {
            await TurnOffAsync(vm, cancellationToken).ConfigureAwait(false);
            return vm;
        }
        SetState(vm, VmState.Running, "the guest did not shut down");
        throw HostErrors.Timeout($"the guest in VM '{vm.Name}' did not shut down within {seconds} s; stop it with --force (turn off after the wait) or --turn-off");
    }

    /// <summary>Cuts the power: asks the worker, and kills it if it does not go in time.</summary>
    private async Task TurnOffAsync(ManagedVm vm, CancellationToken cancellationToken)
    {
        SetState(vm, VmState.Stopping);
        int pid = vm.WorkerPid;
        try { await vm.Worker.SendAsync(new WorkerRequest { Op = WorkerOps.TurnOff }, cancellationToken).ConfigureAwait(false); }
        catch (WorkerException e) { _log($"VM '{vm.Name}': the worker did not take the turn-off ({e.Message}); killing it"); Posix.Signal(pid, Posix.SigKill); }
        if (!await WaitForExitAsync(vm, TurnOffTimeout).ConfigureAwait(false))
        {
            _log($"VM '{vm.Name}': the worker did not end {TurnOffTimeout.TotalSeconds} s after turn-off; killing it");
            Posix.Signal(pid, Posix.SigKill);
            await vm.WorkerExited.Task.ConfigureAwait(false);
        }
    }

    public async Task<ManagedVm> SaveAsync(VmRef reference, CancellationToken cancellationToken)
    {
        var vm = Find(reference);
        using var _ = Begin(vm, "saving");
        await SaveCoreAsync(vm, cancellationToken).ConfigureAwait(false);
        return vm;
    }

    private async Task SaveCoreAsync(ManagedVm vm, CancellationToken cancellationToken)
    {
        if (vm.State is not (VmState.Running or VmState.Paused)) throw HostErrors.WrongState(vm.Name, vm.State, "save");
        var from = vm.State;
        SetState(vm, VmState.Saving);
        try { await AskAsync(vm, WorkerOps.Save, cancellationToken).ConfigureAwait(false); }
        catch (Grpc.Core.RpcException)
        {
            // A worker that saved and ended before its answer got out still saved: the folder says so.
            await WaitForExitAsync(vm, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            if (vm.State == VmState.Saved) return;
            if (vm.State == VmState.Saving) SetState(vm, from);
            throw;
        }
        if (!await WaitForExitAsync(vm, TurnOffTimeout).ConfigureAwait(false))
            throw HostErrors.Internal($"VM '{vm.Name}' saved its state but its worker did not end");
        if (vm.State != VmState.Saved) throw HostErrors.Internal($"VM '{vm.Name}' did not save: {vm.Runtime.LastOffReason}");
    }

    public Task<ManagedVm> SuspendAsync(VmRef reference, CancellationToken cancellationToken) =>
        ChangeRunningAsync(reference, "pause", VmState.Running, VmState.Pausing, WorkerOps.Pause, VmState.Paused, cancellationToken);

    public Task<ManagedVm> ResumeAsync(VmRef reference, CancellationToken cancellationToken) =>
        ChangeRunningAsync(reference, "resume", VmState.Paused, VmState.Resuming, WorkerOps.Resume, VmState.Running, cancellationToken);

    /// <summary>
    /// Restart-VM. There is no guest agent yet to ask the guest to restart itself, so both forms reset
    /// the machine (as -Force does); the guest boots again from its configuration.
    /// </summary>
    public async Task<ManagedVm> RestartAsync(RestartVmRequest request, CancellationToken cancellationToken)
    {
        var vm = Find(request.Vm);
        using var _ = Begin(vm, "restarting");
        if (vm.State is not (VmState.Running or VmState.Paused)) throw HostErrors.WrongState(vm.Name, vm.State, "restart");
        SetState(vm, VmState.Resetting);
        try { await AskAsync(vm, WorkerOps.Reset, cancellationToken).ConfigureAwait(false); }
        finally { if (vm.State == VmState.Resetting) SetState(vm, VmState.Running); }
        return vm;
    }

    private async Task<ManagedVm> ChangeRunningAsync(VmRef reference, string verb, VmState required, VmState during, string op, VmState after, CancellationToken cancellationToken)
    {
        var vm = Find(reference);
        using var _ = Begin(vm, verb == "pause" ? "pausing" : "resuming");
        if (vm.State != required) throw HostErrors.WrongState(vm.Name, vm.State, verb);
        SetState(vm, during);
        try
        {
            await AskAsync(vm, op, cancellationToken).ConfigureAwait(false);
            SetState(vm, after);
        }
        finally { if (vm.State == during) SetState(vm, required); }
        return vm;
    }

    /// <summary>When the host starts: each VM whose automatic start action says so starts after its delay.</summary>
    public void StartAutomatically()
    {
        foreach (var vm in List(null))
        {
            bool start = vm.Config.AutomaticStartAction == AutomaticStartAction.Start
                || (vm.Config.AutomaticStartAction == AutomaticStartAction.StartIfRunning && vm.Runtime.RunningWhenHostStopped);
            if (!start || vm.Damage is not null || vm.State is not (VmState.Off or VmState.Saved)) continue;
            var delay = TimeSpan.FromSeconds(vm.Config.AutomaticStartDelaySeconds);
            _ = Task.Run(async () =>
            {
                try
                {
                    await Task.Delay(delay, _stopping.Token).ConfigureAwait(false);
                    _log($"VM '{vm.Name}': automatic start");
                    await StartAsync(new VmRef { Id = vm.Id.ToString("D") }, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) { }
                catch (Grpc.Core.RpcException e)
                {
                    _log($"VM '{vm.Name}': automatic start failed: {e.Status.Detail}");
                    Publish(vm, VmEventKind.Error, $"automatic start failed: {e.Status.Detail}");
                }
            });
        }
    }

    /// <summary>When the host stops: each running VM gets its automatic stop action (save, shut down or turn off), all at once.</summary>
    public async Task StopAutomaticallyAsync()
    {
        var running = List(null).Where(vm => vm.State is VmState.Running or VmState.Paused).ToList();
        await Task.WhenAll(running.Select(async vm =>
        {
            lock (vm.Sync)
            {
                vm.Runtime = vm.Runtime with { RunningWhenHostStopped = true };
                VmInventory.Save(vm.Folder, vm.Runtime);
            }
            var reference = new VmRef { Id = vm.Id.ToString("D") };
            try
            {
                switch (vm.Config.AutomaticStopAction)
                {
                    case AutomaticStopAction.Save:
                        await SaveAsync(reference, CancellationToken.None).ConfigureAwait(false);
                        break;
                    case AutomaticStopAction.ShutDown:
                        await StopAsync(new StopVmRequest { Vm = reference, Force = true }, CancellationToken.None).ConfigureAwait(false);
                        break;
                    default:
                        await StopAsync(new StopVmRequest { Vm = reference, TurnOff = true }, CancellationToken.None).ConfigureAwait(false);
                        break;
                }
            }
            catch (Grpc.Core.RpcException e) { _log($"VM '{vm.Name}': automatic stop action failed: {e.Status.Detail}"); }
        })).ConfigureAwait(false);
    }
}
