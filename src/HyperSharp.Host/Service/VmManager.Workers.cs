using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;
using HyperSharp.Host.Storage;
using HyperSharp.Inventory.Storage;
using HyperSharp.Host.Network;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Service;

/// <summary>Launching workers, following their reports, and recording how each one ended.</summary>
public sealed partial class VmManager
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan UnreachableProbeInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Starts the VM's worker and waits until its VM is built (or restored) and running: the worker connects to a socket
    /// made for it, takes its adapters' ports there, and says "ready" once the guest runs — one exchange, no asking again.
    /// </summary>
    private async Task LaunchAsync(ManagedVm vm, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(vm.Config.Boot.KernelPath))
            throw HostErrors.Precondition($"VM '{vm.Name}' has nothing to boot: give it a kernel (hyper vm set {vm.Name} --kernel FILE)");
        // The files were checked when they were configured; they may have changed since (a FIFO put in a kernel's place would hang the worker).
        if (StartCheck.Problem(vm.Config) is { } problem) throw HostErrors.Precondition($"cannot start VM '{vm.Name}': {problem}");

        var from = vm.State;
        SetState(vm, VmState.Starting);
        WorkerLaunchListener? listener = null;
        System.Diagnostics.Process process;
        try
        {
            File.Delete(vm.Folder.ExitFile);
            listener = WorkerLaunchListener.Open(vm.Folder.LaunchSocketFile);
            process = _launcher.Launch(vm.Folder, restore: from == VmState.Saved, reportTo: vm.Folder.LaunchSocketFile);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            listener?.Dispose();
            SetState(vm, from);
            throw HostErrors.Internal($"cannot start a worker for VM '{vm.Name}': {e.Message}");
        }
        int pid = process.Id;
        // The child is ours until a host restart: its end is awaited (and it is reaped) here.
        var processExited = process.WaitForExitAsync(CancellationToken.None);
        _ = processExited.ContinueWith(_ => process.Dispose(), TaskScheduler.Default);
        lock (vm.Sync)
        {
            vm.WorkerPid = pid;
            vm.WorkerExited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            vm.CpuSample = null;
            vm.Runtime = vm.Runtime with { State = RecordedState.Running, StartedAtUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), RunningWhenHostStopped = false };
            VmInventory.Save(vm.Folder, vm.Runtime);
        }
        _cgroup.Place(pid, vm.Config);

        var deadline = DateTime.UtcNow + StartTimeout;
        WorkerChannel? channel;
        using (listener) channel = await listener.AcceptAsync(pid, processExited, StartTimeout).ConfigureAwait(false);
        var ready = new TaskCompletionSource<WorkerResponse?>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (channel is null)
        {
            // Ended before it connected (a bad command line, no runtime), or hung: either way it ends here.
            if (!processExited.IsCompleted) Posix.Signal(pid, Posix.SigKill);
            await processExited.ConfigureAwait(false);
            WorkerEnded(vm, pid, reported: null);
            ready.TrySetResult(null);
        }
        else
        {
            await AttachAsync(vm, channel, cancellationToken).ConfigureAwait(false);
            Supervise(vm, pid, channel, processExited, ready);
            var remaining = deadline - DateTime.UtcNow;
            if (await Task.WhenAny(ready.Task, Task.Delay(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, cancellationToken)).ConfigureAwait(false) != ready.Task)
            {
                Posix.Signal(pid, Posix.SigKill);
                await vm.WorkerExited.Task.ConfigureAwait(false);
                throw HostErrors.Timeout($"VM '{vm.Name}' did not start within {StartTimeout.TotalSeconds} s (see {vm.Folder.LogFile})");
            }
        }
        if (await ready.Task.ConfigureAwait(false) is null)
        {
            await vm.WorkerExited.Task.ConfigureAwait(false);
            throw HostErrors.Precondition($"VM '{vm.Name}' did not start: {vm.Runtime.LastOffReason} (see {vm.Folder.LogFile})");
        }
        lock (vm.Sync) vm.Status = ManagedVm.NormalStatus; // whatever went wrong before, it runs now
        SetState(vm, VmState.Running);
    }

    /// <summary>
    /// Attaches the host to a worker on <paramref name="channel"/>: every adapter's label, and a port on its switch for each
    /// one whose switch runs. The host's copies of the worker's ends close once sent; one that cannot be sent frees its port.
    /// </summary>
    private async Task AttachAsync(ManagedVm vm, WorkerChannel channel, CancellationToken cancellationToken)
    {
        var plugs = new List<WorkerAdapterPlug>();
        var ends = new List<Networking.Links.FileDescriptorLink>();
        try
        {
            foreach (var adapter in vm.Config.NetworkAdapters)
            {
                var target = adapter.SwitchId is { } id ? Switches.FindById(id) : null;
                if (adapter.SwitchId is not null && target is not { Running: not null })
                    _log($"VM '{vm.Name}': adapter '{adapter.Name}' stays disconnected: its switch is gone or not running");
                bool port = target is { Running: not null };
                if (port) ends.Add(Switches.Attach(adapter.Id, target!, NetworkProjection.Port(adapter)));
                plugs.Add(new WorkerAdapterPlug(adapter.Id, adapter.Name, port));
            }
            await channel.AttachAsync(plugs, [.. ends.Select(e => e.Descriptor)], cancellationToken).ConfigureAwait(false);
        }
        catch (WorkerException e)
        {
            // The worker is going; its end of the channel tells the supervisor, which frees the ports.
            _log($"VM '{vm.Name}': {e.Message}");
        }
        finally
        {
            foreach (var end in ends) end.Dispose();
        }
    }

    /// <summary>
    /// Follows a worker through its report channel: "ready" answers the start (or the host's return), state changes show,
    /// and the channel's end — the process's end — records how the VM ended. A host that stops leaves the worker running.
    /// </summary>
    private void Supervise(ManagedVm vm, int pid, WorkerChannel channel, Task? processExited, TaskCompletionSource<WorkerResponse?> ready) => _ = Task.Run(async () =>
    {
        WorkerExitRecord? reported = null;
        try
        {
            while (await channel.ReadAsync(_stopping.Token).ConfigureAwait(false) is { } report)
            {
                switch (report.Kind)
                {
                    case WorkerReportKinds.Ready:
                        vm.Adapters = report.Status?.Adapters ?? [];
                        ready.TrySetResult(report.Status ?? new WorkerResponse());
                        break;
                    case WorkerReportKinds.Paused:
                        if (vm.State == VmState.Running) SetState(vm, VmState.Paused);
                        break;
                    case WorkerReportKinds.Resumed:
                        if (vm.State == VmState.Paused) SetState(vm, VmState.Running);
                        break;
                    case WorkerReportKinds.Reset:
                        _log($"VM '{vm.Name}': the guest reset; its worker started it again");
                        break;
                    case WorkerReportKinds.Exited:
                        reported = new WorkerExitRecord { Pid = pid, Reason = report.Reason ?? "", Saved = report.Saved };
                        break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            channel.Dispose();
            return; // the host stops; the worker goes on, and the next host attaches to it
        }
        channel.Dispose();
        // Off means the process is gone (its disks closed), not just that it said goodbye.
        if (processExited is not null) await processExited.ConfigureAwait(false);
        WorkerEnded(vm, pid, reported);
        ready.TrySetResult(null);
    });

    /// <summary>
    /// After a host restart, for a worker found running: attach to it on its control socket (fresh switch ports, the
    /// adapters' labels), learn whether it holds its VM paused, and follow it from then on.
    /// </summary>
    private async Task AdoptAsync(ManagedVm vm, int pid)
    {
        await vm.Operation.WaitAsync(_stopping.Token).ConfigureAwait(false);
        vm.OperationName = "reconnecting to"; // what a request refused meanwhile is told
        try
        {
            WorkerChannel channel;
            try { channel = await WorkerChannel.ConnectAsync(vm.Folder.SocketFile, _stopping.Token).ConfigureAwait(false); }
            catch (WorkerException e)
            {
                // Only a worker that is ending has no socket: its process, not a channel, tells when it has gone.
                _log($"VM '{vm.Name}': {e.Message}; waiting for its process to end");
                WatchUnreachable(vm, pid);
                return;
            }
            await AttachAsync(vm, channel, _stopping.Token).ConfigureAwait(false);
            var ready = new TaskCompletionSource<WorkerResponse?>(TaskCreationOptions.RunContinuationsAsynchronously);
            Supervise(vm, pid, channel, processExited: null, ready);
            if (await ready.Task.WaitAsync(StartTimeout, _stopping.Token).ConfigureAwait(false) is { Paused: true }) SetState(vm, VmState.Paused);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException) { }
        finally
        {
            vm.OperationName = null;
            vm.Operation.Release();
        }
    }

    /// <summary>
    /// A worker found running that does not answer on its socket (it is ending): waits for its process to go. The one
    /// place left that looks at /proc in a loop; a worker that answers is followed through its channel.
    /// </summary>
    private void WatchUnreachable(ManagedVm vm, int pid) => _ = Task.Run(async () =>
    {
        try
        {
            for (int misses = 0; misses < 3; await Task.Delay(UnreachableProbeInterval, _stopping.Token).ConfigureAwait(false))
            {
                if (ProcessProbe.IsWorkerFor(pid, vm.Folder.Path)) misses = 0;
                else if (!ProcessProbe.IsAlive(pid)) break;
                else misses++;
            }
        }
        catch (OperationCanceledException) { return; }
        WorkerEnded(vm, pid, reported: null);
    });

    /// <summary>
    /// The worker <paramref name="pid"/> is gone: the VM is Saved if a saved state is in its folder, else
    /// Off, with the reason the worker reported (<paramref name="reported"/>) or recorded in exit.json — or, if it
    /// said none, that it crashed (an ERROR event).
    /// </summary>
    private void WorkerEnded(ManagedVm vm, int pid, WorkerExitRecord? reported)
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
            WorkerExitRecord? exit = reported;
            if (exit is null)
            {
                try { exit = InventoryJson.Read<WorkerExitRecord>(vm.Folder.ExitFile); }
                catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException) { }
            }
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
