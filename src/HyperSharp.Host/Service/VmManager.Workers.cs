using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;
using HyperSharp.Host.Storage;
using HyperSharp.Inventory.Storage;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Service;

/// <summary>Launching workers, watching them, and recording how each one ended.</summary>
public sealed partial class VmManager
{
    private static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    /// <summary>Starts the VM's worker and waits until its VM is built (or restored) and running.</summary>
    private async Task LaunchAsync(ManagedVm vm, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(vm.Config.Boot.KernelPath))
            throw HostErrors.Precondition($"VM '{vm.Name}' has nothing to boot: give it a kernel (hyper vm set {vm.Name} --kernel FILE)");
        // The files were checked when they were configured; they may have changed since (a FIFO put in a kernel's place would hang the worker).
        if (StartCheck.Problem(vm.Config) is { } problem) throw HostErrors.Precondition($"cannot start VM '{vm.Name}': {problem}");

        var from = vm.State;
        SetState(vm, VmState.Starting);
        System.Diagnostics.Process process;
        try
        {
            File.Delete(vm.Folder.ExitFile);
            process = _launcher.Launch(vm.Folder, restore: from == VmState.Saved);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            SetState(vm, from);
            throw HostErrors.Internal($"cannot start a worker for VM '{vm.Name}': {e.Message}");
        }
        int pid = process.Id;
        // Reap the child when it ends (it is ours until a host restart); the watch below is what reacts.
        _ = process.WaitForExitAsync(CancellationToken.None).ContinueWith(_ => process.Dispose(), TaskScheduler.Default);
        lock (vm.Sync)
        {
            vm.WorkerPid = pid;
            vm.WorkerExited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            vm.CpuSample = null;
            vm.Runtime = vm.Runtime with { State = RecordedState.Running, StartedAtUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), RunningWhenHostStopped = false };
            VmInventory.Save(vm.Folder, vm.Runtime);
        }
        _cgroup.Place(pid, vm.Config);
        Watch(vm, pid);

        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            if (vm.WorkerExited.Task.IsCompleted)
                throw HostErrors.Precondition($"VM '{vm.Name}' did not start: {vm.Runtime.LastOffReason} (see {vm.Folder.LogFile})");
            try
            {
                var status = await vm.Worker.SendAsync(new WorkerRequest { Op = WorkerOps.Status }, cancellationToken).ConfigureAwait(false);
                if (status.Running) break;
            }
            catch (WorkerException) { } // not listening yet
            if (DateTime.UtcNow > deadline)
            {
                Posix.Signal(pid, Posix.SigKill);
                await vm.WorkerExited.Task.ConfigureAwait(false);
                throw HostErrors.Timeout($"VM '{vm.Name}' did not start within {StartTimeout.TotalSeconds} s (see {vm.Folder.LogFile})");
            }
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
        lock (vm.Sync) vm.Status = ManagedVm.NormalStatus; // whatever went wrong before, it runs now
        SetState(vm, VmState.Running);
        await ConnectAdaptersAsync(vm, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Follows a worker until its process is gone, then records how it ended.</summary>
    private void Watch(ManagedVm vm, int pid) => _ = Task.Run(async () =>
    {
        try
        {
            // A process that is gone (or a zombie) has ended. One whose command line is not the worker's may be
            // mid-exec (sh -> setsid -> dotnet: the command line reads empty for an instant) or a recycled PID:
            // only a few misses in a row count as the end.
            for (int misses = 0; misses < 3; await Task.Delay(WatchInterval, _stopping.Token).ConfigureAwait(false))
            {
                if (ProcessProbe.IsWorkerFor(pid, vm.Folder.Path)) misses = 0;
                else if (!ProcessProbe.IsAlive(pid)) break;
                else misses++;
            }
        }
        catch (OperationCanceledException) { return; } // the host stops; the worker goes on
        WorkerEnded(vm, pid);
    });

    /// <summary>
    /// The worker <paramref name="pid"/> is gone: the VM is Saved if a saved state is in its folder, else
    /// Off, with the reason the worker recorded — or, if it recorded none, that it crashed (an ERROR event).
    /// </summary>
    private void WorkerEnded(ManagedVm vm, int pid)
    {
        bool crashed;
        string reason;
        VmState old, now;
        // The ports go before the VM shows Off, so nobody sees an Off VM still holding switch ports. The VM
        // cannot start again in between: it still shows the dead worker until the state changes below.
        lock (vm.Sync) if (vm.WorkerPid != pid) return;
        FreePorts(vm);
        lock (vm.Sync)
        {
            if (vm.WorkerPid != pid) return;
            WorkerExitRecord? exit = null;
            try { exit = InventoryJson.Read<WorkerExitRecord>(vm.Folder.ExitFile); }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException) { }
            crashed = exit is null || (pid > 0 && exit.Pid != pid);
            reason = !crashed ? exit!.Reason
                : pid > 0 ? $"the worker process (PID {pid}) ended without recording why: it crashed or was killed"
                : "the worker ended while the host was down, without recording why: it crashed or was killed";
            // A worker that ended on purpose says whether the VM is saved (a save that finished, or a restore that failed: the
            // VM stays Saved with the reason naming the file). One that crashed left a saved state only if its restore never ran.
            bool saved = exit is not null && !crashed ? exit.Saved : Path.Exists(vm.Folder.SavedStateFile);
            old = vm.State;
            now = saved ? VmState.Saved : VmState.Off;
            vm.State = now;
            vm.WorkerPid = 0;
            // A start that failed says why until the next start; so does a crash. An orderly end clears it.
            vm.Status = crashed ? $"Worker crashed: {reason}" : old == VmState.Starting ? $"Start failed: {reason}" : ManagedVm.NormalStatus;
            vm.Runtime = vm.Runtime with { State = saved ? RecordedState.Saved : RecordedState.Off, LastOffReason = reason };
            if (!vm.Removed)
            {
                try
                {
                    VmInventory.Save(vm.Folder, vm.Runtime);
                    File.Delete(vm.Folder.ExitFile);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { _log($"VM '{vm.Name}': cannot record its state: {e.Message}"); }
            }
        }
        _cgroup.Remove(vm.Id);
        _log($"VM '{vm.Name}' is {StateNames.Of(now)}: {reason}");
        Events.Publish(new VmEvent { VmId = vm.Id.ToString("D"), VmName = vm.Name, Kind = VmEventKind.StateChanged, OldState = old, NewState = now, Message = reason });
        if (crashed) Publish(vm, VmEventKind.Error, reason);
        vm.WorkerExited.TrySetResult();
    }

    /// <summary>After a host restart: a worker found running may hold its VM paused.</summary>
    private async Task RefreshPausedAsync(ManagedVm vm)
    {
        try
        {
            var status = await vm.Worker.SendAsync(new WorkerRequest { Op = WorkerOps.Status }, _stopping.Token).ConfigureAwait(false);
            if (status.Paused) SetState(vm, VmState.Paused);
        }
        catch (Exception e) when (e is WorkerException or OperationCanceledException) { }
    }

    /// <summary>Asks the worker to do something; its refusal becomes FAILED_PRECONDITION with its reason.</summary>
    private static async Task<WorkerResponse> AskAsync(ManagedVm vm, string op, CancellationToken cancellationToken, DiskSettings? disk = null)
    {
        var request = new WorkerRequest { Op = op, Path = disk?.Path, ReadOnly = disk?.ReadOnly ?? false, Label = disk?.DriveName() };
        try { return await vm.Worker.SendAsync(request, cancellationToken).ConfigureAwait(false); }
        catch (WorkerException e) { throw HostErrors.Precondition($"VM '{vm.Name}': {e.Message}"); }
    }

    private static async Task<bool> WaitForExitAsync(ManagedVm vm, TimeSpan timeout)
    {
        try
        {
            await vm.WorkerExited.Task.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException) { return false; }
    }
}
