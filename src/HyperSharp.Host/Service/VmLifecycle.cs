using HyperSharp.Host.Workers;
using HyperSharp.Inventory;
using HyperSharp.Inventory.Storage;
using HyperSharp.Inventory.Workers;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Service;

/// <summary>How Stop-VM stops: ask the guest and wait (<see cref="ShutdownTimeout"/>), cut the power, or ask and then cut it.</summary>
public sealed record StopOptions(bool TurnOff = false, bool Force = false, TimeSpan? ShutdownTimeout = null);

/// <summary>
/// The power states of the host's VMs and the moves between them — Start-, Stop-, Save-, Suspend-, Resume-, Restart-VM,
/// a worker's own reports and its end — on domain values, with domain errors (<see cref="HostException"/>). Each VM has
/// one operation at a time (<see cref="Begin"/>: a second is refused as busy, never queued); its fields change under its
/// own lock. The workers themselves are the <see cref="IWorkerSupervisor"/>'s.
/// </summary>
public sealed class VmLifecycle
{
    public static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan TurnOffTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private readonly IWorkerSupervisor _workers;
    private readonly EventFeed _events;
    private readonly Action<string> _log;

    /// <summary>This host as the runtime records name it: whose worker runs a VM.</summary>
    public string HostName { get; }

    /// <param name="host">this host as the runtime records name it (<see cref="VmRuntimeRecord.Host"/>)</param>
    public VmLifecycle(IWorkerSupervisor workers, EventFeed events, Action<string> log, string host)
    {
        HostName = host;
        _workers = workers;
        _events = events;
        _log = log;
        workers.Reported += OnReported;
        workers.Ended += WorkerEnded;
    }

    public IWorkerSupervisor Workers => _workers;

    /// <summary>Holds the VM's operation gate for one request; a second request at the same time is refused (busy).</summary>
    public ManagedVm.OperationScope Begin(ManagedVm vm, string operation)
    {
        var scope = vm.TryBeginOperation(operation) ?? throw HostErrors.Busy(vm.Name, vm.OperationName ?? "changing");
        if (vm.Removed)
        {
            scope.Dispose();
            throw HostErrors.NotFound($"VM '{vm.Name}' was just removed");
        }
        if (vm.Damage is { } damage && operation != "removing")
        {
            scope.Dispose();
            throw HostErrors.Precondition($"VM folder {vm.Folder.Path} is damaged: {damage}; repair it and restart the host, or remove the VM");
        }
        return scope;
    }

    public async Task StartAsync(ManagedVm vm, CancellationToken cancellationToken)
    {
        using var _ = Begin(vm, "starting");
        if (vm.State is not (PowerState.Off or PowerState.Saved)) throw HostErrors.WrongState(vm.Name, vm.State, "start");
        if (string.IsNullOrEmpty(vm.Config.Boot.KernelPath) && vm.Config.Boot.Firmware == BootFirmware.None)
            throw HostErrors.Precondition($"VM '{vm.Name}' has nothing to boot: give it a kernel (hyper vm set {vm.Name} --kernel FILE)");
        // The files were checked when they were configured; they may have changed since (a FIFO put in a kernel's place would hang the worker).
        if (StartCheck.Problem(vm.Config, arriving: vm.Incoming is not null) is { } problem) throw HostErrors.Precondition($"cannot start VM '{vm.Name}': {problem}");

        var from = vm.State;
        SetState(vm, PowerState.Starting);
        Task<WorkerResponse?> launch;
        int pid = 0;
        try
        {
            launch = _workers.LaunchAsync(vm, restore: from == PowerState.Saved, launched =>
            {
                pid = launched;
                vm.WorkerStarted(launched, runtime: r => r with { State = RecordedState.Running, StartedAtUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), RunningWhenHostStopped = false, Host = HostName });
            }, cancellationToken);
        }
        catch (HostException)
        {
            SetState(vm, from);
            throw;
        }
        WorkerResponse? ready;
        try { ready = await launch.WaitAsync(StartTimeout, cancellationToken).ConfigureAwait(false); }
        catch (HostException)
        {
            if (vm.State == PowerState.Starting && pid == 0) SetState(vm, from);
            throw;
        }
        catch (TimeoutException)
        {
            _workers.Kill(pid);
            await vm.WorkerExited.ConfigureAwait(false);
            throw HostErrors.Timeout($"VM '{vm.Name}' did not start within {StartTimeout.TotalSeconds} s (see {vm.Folder.LogFile})");
        }
        if (ready is null)
        {
            await vm.WorkerExited.ConfigureAwait(false);
            throw HostErrors.Precondition($"VM '{vm.Name}' did not start: {vm.Runtime.LastOffReason} (see {vm.Folder.LogFile})");
        }
        // A guest that powers off at once can end its worker between "ready" and here: its end has set the state
        // (Off, with the reason), and Running would leave a VM with no worker shown as running. Whatever went wrong
        // before, it runs now: its status is normal.
        if (vm.ChangeStateIf(PowerState.Starting, PowerState.Running, ManagedVm.NormalStatus))
            _events.Publish(new VmChange(vm.Id, vm.Name, VmChangeKind.StateChanged, PowerState.Starting, PowerState.Running, ""));
    }

    public async Task StopAsync(ManagedVm vm, StopOptions options, CancellationToken cancellationToken)
    {
        var wait = options.ShutdownTimeout ?? DefaultShutdownTimeout;
        using var _ = Begin(vm, "stopping");
        switch (vm.State)
        {
            case PowerState.Off:
                return;
            case PowerState.Saved:
                // Stop-VM on a saved VM discards the saved state (Hyper-V does the same).
                DiscardSavedState(vm, "its saved state was discarded (turned off)");
                return;
        }
        if (options.TurnOff || (vm.State == PowerState.Paused && options.Force))
        {
            await TurnOffAsync(vm, cancellationToken).ConfigureAwait(false);
            return;
        }
        if (vm.State != PowerState.Running) throw HostErrors.WrongState(vm.Name, vm.State, "shut down");
        SetState(vm, PowerState.Stopping);
        if (!await AskAgentToShutDownAsync(vm, cancellationToken).ConfigureAwait(false))
            await AskAsync(vm, WorkerOps.Shutdown, cancellationToken).ConfigureAwait(false);
        if (await WaitForExitAsync(vm, wait).ConfigureAwait(false)) return;
        if (options.Force)
        {
            await TurnOffAsync(vm, cancellationToken).ConfigureAwait(false);
            return;
        }
        SetState(vm, PowerState.Running, "the guest did not shut down");
        throw HostErrors.Timeout($"the guest in VM '{vm.Name}' did not shut down within {wait.TotalSeconds:0} s; stop it with --force (turn off after the wait) or --turn-off");
    }

    /// <summary>A Saved VM's saved state deleted, the VM Off for <paramref name="reason"/>. Something else in the file's place is not ours to remove. The caller holds the VM's operation.</summary>
    public void DiscardSavedState(ManagedVm vm, string reason)
    {
        if (Directory.Exists(vm.Folder.SavedStateFile))
            throw HostErrors.Precondition($"VM '{vm.Name}': {vm.Folder.SavedStateFile} is a directory, not a saved state; remove it to discard the VM's saved state");
        File.Delete(vm.Folder.SavedStateFile);
        vm.RecordRuntime(r => r with { State = RecordedState.Off, LastOffReason = reason });
        SetState(vm, PowerState.Off, reason);
    }

    /// <summary>An Off VM whose folder now holds a saved state (a restored checkpoint of it running) becomes Saved, for <paramref name="reason"/>. The caller holds the VM's operation.</summary>
    public void AdoptSavedState(ManagedVm vm, string reason)
    {
        vm.RecordRuntime(r => r with { State = RecordedState.Saved, LastOffReason = reason });
        SetState(vm, PowerState.Saved, reason);
    }

    /// <summary>
    /// The Shutdown integration service: when it is on and the guest's agent answers, the agent shuts the guest down
    /// cleanly (its file systems synced, its services stopped). False when the ACPI power button must do it instead: the
    /// service is off, no agent answers, or it refused.
    /// </summary>
    private async Task<bool> AskAgentToShutDownAsync(ManagedVm vm, CancellationToken cancellationToken)
    {
        if (!vm.Config.IntegrationServices.Shutdown || vm.Guest is not { Heartbeat: GuestIntegrationStatus.Ok }) return false;
        try
        {
            await _workers.SendAsync(vm, new WorkerRequest { Op = WorkerOps.GuestShutdown, Destination = "Stop-VM" }, cancellationToken).ConfigureAwait(false);
            _log($"VM '{vm.Name}': its guest agent is shutting the guest down");
            return true;
        }
        catch (WorkerException e)
        {
            _log($"VM '{vm.Name}': the guest agent did not take the shutdown ({e.Message}); pressing the ACPI power button");
            return false;
        }
    }

    /// <summary>Cuts the power: asks the worker, and kills it if it does not go in time. The caller holds the VM's operation.</summary>
    public async Task TurnOffAsync(ManagedVm vm, CancellationToken cancellationToken)
    {
        SetState(vm, PowerState.Stopping);
        int pid = vm.WorkerPid;
        try { await _workers.SendAsync(vm, new WorkerRequest { Op = WorkerOps.TurnOff }, cancellationToken).ConfigureAwait(false); }
        catch (WorkerException e) { _log($"VM '{vm.Name}': the worker did not take the turn-off ({e.Message}); killing it"); _workers.Kill(pid); }
        if (!await WaitForExitAsync(vm, TurnOffTimeout).ConfigureAwait(false))
        {
            _log($"VM '{vm.Name}': the worker did not end {TurnOffTimeout.TotalSeconds} s after turn-off; killing it");
            _workers.Kill(pid);
            await vm.WorkerExited.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The cluster's fence: the worker killed at once, without the VM's operation — a save, a migration or a guest
    /// shutdown in progress must not keep the VM running past the moment its node's lease may expire elsewhere.
    /// Completes when the worker has ended (at once when none runs).
    /// </summary>
    public Task KillAsync(ManagedVm vm, string why)
    {
        int pid = vm.WorkerPid;
        if (pid <= 0) return Task.CompletedTask;
        _log($"VM '{vm.Name}': killing its worker (PID {pid}){(vm.OperationName is { } busy ? $" while it is {busy}" : "")}: {why}");
        var exited = vm.WorkerExited;
        _workers.Kill(pid);
        return exited;
    }

    public async Task SaveAsync(ManagedVm vm, CancellationToken cancellationToken)
    {
        using var _ = Begin(vm, "saving");
        if (vm.State is not (PowerState.Running or PowerState.Paused)) throw HostErrors.WrongState(vm.Name, vm.State, "save");
        var from = vm.State;
        SetState(vm, PowerState.Saving);
        try { await AskAsync(vm, WorkerOps.Save, cancellationToken).ConfigureAwait(false); }
        catch (HostException)
        {
            // A worker that saved and ended before its answer got out still saved: the folder says so.
            await WaitForExitAsync(vm, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            if (vm.State == PowerState.Saved) return;
            if (vm.State == PowerState.Saving) SetState(vm, from);
            throw;
        }
        if (!await WaitForExitAsync(vm, TurnOffTimeout).ConfigureAwait(false))
            throw HostErrors.Internal($"VM '{vm.Name}' saved its state but its worker did not end");
        if (vm.State != PowerState.Saved) throw HostErrors.Internal($"VM '{vm.Name}' did not save: {vm.Runtime.LastOffReason}");
    }

    public Task SuspendAsync(ManagedVm vm, CancellationToken cancellationToken) =>
        ChangeRunningAsync(vm, "pause", PowerState.Running, PowerState.Pausing, WorkerOps.Pause, PowerState.Paused, cancellationToken);

    public Task ResumeAsync(ManagedVm vm, CancellationToken cancellationToken) =>
        ChangeRunningAsync(vm, "resume", PowerState.Paused, PowerState.Resuming, WorkerOps.Resume, PowerState.Running, cancellationToken);

    /// <summary>
    /// Restart-VM. There is no guest agent yet to ask the guest to restart itself, so both forms reset
    /// the machine (as -Force does); the guest boots again from its configuration.
    /// </summary>
    public async Task RestartAsync(ManagedVm vm, CancellationToken cancellationToken)
    {
        using var _ = Begin(vm, "restarting");
        if (vm.State is not (PowerState.Running or PowerState.Paused)) throw HostErrors.WrongState(vm.Name, vm.State, "restart");
        SetState(vm, PowerState.Resetting);
        try { await AskAsync(vm, WorkerOps.Reset, cancellationToken).ConfigureAwait(false); }
        finally { if (vm.State == PowerState.Resetting) SetState(vm, PowerState.Running); }
    }

    private async Task ChangeRunningAsync(ManagedVm vm, string verb, PowerState required, PowerState during, string op, PowerState after, CancellationToken cancellationToken)
    {
        using var _ = Begin(vm, verb == "pause" ? "pausing" : "resuming");
        if (vm.State != required) throw HostErrors.WrongState(vm.Name, vm.State, verb);
        SetState(vm, during);
        try
        {
            await AskAsync(vm, op, cancellationToken).ConfigureAwait(false);
            SetState(vm, after);
        }
        finally { if (vm.State == during) SetState(vm, required); }
    }

    /// <summary>
    /// After a host restart, a worker found running: the VM shows Running at once, and once the host is attached to the
    /// worker (fresh switch ports, under the VM's operation) Paused if the worker holds it paused.
    /// </summary>
    public void Adopt(ManagedVm vm, int pid, CancellationToken stopping)
    {
        vm.WorkerStarted(pid, PowerState.Running);
        _ = Task.Run(async () =>
        {
            try
            {
                // "reconnecting to": what a request refused meanwhile is told.
                using var _ = await vm.WaitForOperationAsync("reconnecting to", stopping).ConfigureAwait(false);
                if (await _workers.AdoptAsync(vm, pid, stopping).WaitAsync(StartTimeout, stopping).ConfigureAwait(false) is { Paused: true })
                    SetState(vm, PowerState.Paused);
            }
            catch (Exception e) when (e is OperationCanceledException or TimeoutException) { }
        }, CancellationToken.None);
    }

    /// <summary>What a worker reported of its own accord: a pause or resume shows (unless an operation is changing it).</summary>
    private void OnReported(ManagedVm vm, WorkerReport report)
    {
        switch (report.Kind)
        {
            case WorkerReportKinds.Paused when vm.State == PowerState.Running:
                SetState(vm, PowerState.Paused);
                break;
            case WorkerReportKinds.Resumed when vm.State == PowerState.Paused:
                SetState(vm, PowerState.Running);
                break;
            case WorkerReportKinds.Reset:
                _log($"VM '{vm.Name}': the guest reset; its worker started it again");
                break;
            case WorkerReportKinds.Throttled:
                _log($"VM '{vm.Name}': {report.Reason}");
                Publish(vm, VmChangeKind.Throttled, report.Reason ?? "throttled");
                break;
        }
    }

    /// <summary>
    /// The worker <paramref name="pid"/> is gone: the VM is Saved if a saved state is in its folder, else Off, with the
    /// reason the worker reported (<paramref name="reported"/>) or recorded in exit.json — or, if it said none, that it
    /// crashed (an ERROR event). PID -1: a worker that ended while no host was there.
    /// </summary>
    public void WorkerEnded(ManagedVm vm, int pid, WorkerExitRecord? reported)
    {
        WorkerExitRecord? exit = reported;
        if (exit is null)
        {
            try { exit = InventoryJson.Read<WorkerExitRecord>(vm.Folder.ExitFile); }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException) { }
        }
        bool crashed = exit is null || (pid > 0 && exit.Pid != pid);
        string reason = !crashed ? exit!.Reason
            : pid > 0 ? $"the worker process (PID {pid}) ended without recording why: it crashed or was killed"
            : "the worker ended while the host was down, without recording why: it crashed or was killed";
        // A worker that ended on purpose says whether the VM is saved (a save that finished, or a restore that failed: the
        // VM stays Saved with the reason naming the file). One that crashed left a saved state only if its restore never ran.
        bool saved = exit is not null && !crashed ? exit.Saved : Path.Exists(vm.Folder.SavedStateFile);
        var now = saved ? PowerState.Saved : PowerState.Off;
        // A start that failed says why until the next start; so does a crash. An orderly end clears it.
        if (vm.EndWorker(pid, now, old => (
                crashed ? $"Worker crashed: {reason}" : old == PowerState.Starting ? $"Start failed: {reason}" : ManagedVm.NormalStatus,
                vm.Runtime with { State = saved ? RecordedState.Saved : RecordedState.Off, LastOffReason = reason }),
                e => _log($"VM '{vm.Name}': cannot record its state: {e.Message}")) is not { } old)
            return;
        _log($"VM '{vm.Name}' is {StateNames.Of(now)}: {reason}");
        _events.Publish(new VmChange(vm.Id, vm.Name, VmChangeKind.StateChanged, old, now, reason));
        if (crashed) Publish(vm, VmChangeKind.Error, reason);
        vm.CompleteWorkerExit();
    }

    public void SetState(ManagedVm vm, PowerState state, string message = "")
    {
        var old = vm.ChangeState(state);
        if (old != state)
            _events.Publish(new VmChange(vm.Id, vm.Name, VmChangeKind.StateChanged, old, state, message));
    }

    public void Publish(ManagedVm vm, VmChangeKind kind, string message) =>
        _events.Publish(new VmChange(vm.Id, vm.Name, kind, vm.State, vm.State, message));

    /// <summary>Asks the worker to do something; its refusal becomes a failed precondition with its reason.</summary>
    public async Task<WorkerResponse> AskAsync(ManagedVm vm, string op, CancellationToken cancellationToken, DiskSettings? disk = null)
    {
        var request = new WorkerRequest
        {
            Op = op, Path = disk?.Path, ReadOnly = disk?.ReadOnly ?? false, Label = disk?.DriveName(),
            MaximumIops = disk?.MaximumIops ?? 0, MinimumIops = disk?.MinimumIops ?? 0, Drive = disk,
        };
        try { return await _workers.SendAsync(vm, request, cancellationToken).ConfigureAwait(false); }
        catch (WorkerException e) { throw HostErrors.Precondition($"VM '{vm.Name}': {e.Message}"); }
    }

    private static async Task<bool> WaitForExitAsync(ManagedVm vm, TimeSpan timeout)
    {
        try
        {
            await vm.WorkerExited.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException) { return false; }
    }
}
