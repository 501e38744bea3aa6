using System.Diagnostics;
using HyperSharp.Hypervisor;
using HyperSharp.Machine;
using HyperSharp.Machine.Migration;
using HyperSharp.Machine.State;
using HyperSharp.Networking.Links;

namespace HyperSharp.Worker;

/// <summary>
/// One VM's life in this process, the same for `hyper worker` and `hyper vm run`: build it (or restore a saved state),
/// run it, build it again when the guest resets, pause, resume and save it on request, and say how it ended. What
/// surrounds it — a terminal, the host's control socket — drives it through these members and hears of each new machine
/// through <see cref="MachineStarted"/>.
/// </summary>
public sealed class MachineSession(IHypervisor hypervisor, VmConfig config)
{
    private readonly object _lock = new();
    private readonly Stopwatch _uptime = new();
    private VmConfig _config = config;
    private VirtualMachine? _vm;
    private bool _paused, _saved, _turnedOff, _ended;
    private string? _turnOffDetail;
    private TaskCompletionSource _nextMachine = NewSignal();

    /// <summary>A saved state to continue from instead of a fresh boot; a guest reset after it boots fresh from <see cref="VmConfig"/>.</summary>
    public string? RestoreFrom { get; init; }

    /// <summary>Where the first machine comes from instead of a boot: a live migration into this process (given the session's configuration).</summary>
    public Func<VmConfig, VirtualMachine>? Incoming { get; init; }
    /// <summary>Where a restored VM's disks are now, by the image the saved state names (null: where it names them).</summary>
    public Func<string, string>? RestoredDiskPath { get; init; }

    /// <summary>How a restored VM's network adapters get their switch ports back (by the adapter's saved name).</summary>
    public Func<SavedNetworkAdapter, Func<IFrameLink>?>? Reconnect { get; init; }

    /// <summary>The configuration a guest reset rebuilds from; the default keeps the disks hot-added meanwhile, in their slots.</summary>
    public Func<VirtualMachine, VmConfig, VmConfig> AfterReset { get; init; } = (vm, config) => config with { Disks = vm.DiskAttachments, ScsiControllers = vm.Scsi.Attachments() };

    /// <summary>The configuration written into a saved state (the worker records its adapters' slots there).</summary>
    public Func<VirtualMachine, VmConfig, VmConfig> ForSave { get; init; } = (_, config) => config;

    /// <summary>Called with each machine built or restored, before it runs (the first, or one rebuilt after a guest reset); it is <see cref="Machine"/> already.</summary>
    public Action<VirtualMachine, MachineStart>? MachineStarted { get; init; }

    public IHypervisor Hypervisor => hypervisor;

    /// <summary>The machine running now, or null while one is being built, torn down, or after the end.</summary>
    public VirtualMachine? Machine { get { lock (_lock) return _vm; } }

    public bool Paused { get { lock (_lock) return _paused; } }

    /// <summary>Completes when a machine runs (now, or once the next is built) or the session has ended.</summary>
    public Task WhenRunning()
    {
        lock (_lock) return _vm is not null || _ended ? Task.CompletedTask : _nextMachine.Task;
    }

    /// <summary>How long the guest has run, pauses left out.</summary>
    public TimeSpan Uptime => _uptime.Elapsed;

    /// <summary>Runs the VM until it ends for good (a reset is not an end); returns how it ended. Build and restore errors propagate.</summary>
    public SessionEnd Run()
    {
        string? restore = RestoreFrom;
        bool first = true;
        try
        {
            while (true)
            {
                bool incoming = first && Incoming is not null;
                using var vm = incoming ? Incoming!(_config)
                    : restore is not null ? VirtualMachineBuilder.Restore(hypervisor, restore, _config.ConsoleOutput, _config.Log, Reconnect, RestoredDiskPath ?? (path => path), LocalResources.Of(_config))
                    : new VirtualMachineBuilder(hypervisor, _config).Build();
                var how = incoming ? MachineStart.Migrated : restore is not null ? MachineStart.Restored : first ? MachineStart.Booted : MachineStart.RebootedAfterReset;
                restore = null;
                first = false;
                TaskCompletionSource started;
                lock (_lock)
                {
                    _vm = vm;
                    _paused = false;
                    // Under the lock: whatever the hook starts (a save timer, the host's requests) finds this machine.
                    MachineStarted?.Invoke(vm, how);
                    started = _nextMachine;
                    _nextMachine = NewSignal();
                    // A turn-off that arrived while the machine was being built applies to it at once.
                    if (_turnedOff) vm.Stop(VmStopReason.Stopped, _turnOffDetail);
                }
                started.TrySetResult();
                if (how == MachineStart.Migrated) _ = HyperSharp.Machine.Migration.MacAnnounce.Start(vm, _config.Log); // the switches learn the adapters' new ports
                _uptime.Start();
                var stopped = vm.Run();
                _uptime.Stop();
                lock (_lock) _vm = null;
                if (End(stopped) is { } end) return end;
                _config = AfterReset(vm, _config);
            }
        }
        finally
        {
            lock (_lock) _ended = true;
            _nextMachine.TrySetResult();
        }
    }

    /// <summary>The end a stop means, or null for a reset (the session goes on with a new machine).</summary>
    private SessionEnd? End(VmStopped stopped)
    {
        lock (_lock)
        {
            if (_saved) return new SessionEnd(SessionEndKind.Saved, "saved", stopped.Reason);
            if (_turnedOff) return new SessionEnd(SessionEndKind.TurnedOff, stopped.Detail ?? "turned off", stopped.Reason);
        }
        return stopped.Reason switch
        {
            VmStopReason.Reset => null,
            VmStopReason.PowerOff => new SessionEnd(SessionEndKind.PoweredOff, "the guest shut down", stopped.Reason),
            VmStopReason.Stopped => new SessionEnd(SessionEndKind.TurnedOff, stopped.Detail ?? "turned off", stopped.Reason),
            VmStopReason.TripleFault or VmStopReason.GuestCrash =>
                new SessionEnd(SessionEndKind.Crashed, $"the guest crashed: {stopped.Detail ?? stopped.Reason.ToString()}", stopped.Reason),
            _ => new SessionEnd(SessionEndKind.Failed, $"the VM stopped: {stopped.Reason} {stopped.Detail}".TrimEnd(), stopped.Reason),
        };
    }

    public void Pause()
    {
        lock (_lock)
        {
            var vm = Running();
            if (_paused) return;
            vm.Pause();
            _paused = true;
            _uptime.Stop();
        }
    }

    public void Resume()
    {
        lock (_lock)
        {
            var vm = Running();
            if (!_paused) return;
            vm.Resume();
            _paused = false;
            _uptime.Start();
        }
    }

    /// <summary>
    /// Pauses the VM, writes it to <paramref name="path"/> and ends the session (<see cref="SessionEndKind.Saved"/>). A save
    /// that fails leaves the VM as it was (running again if it ran) and the error propagates.
    /// </summary>
    public void Save(string path)
    {
        lock (_lock)
        {
            var vm = Running();
            bool wasPaused = _paused;
            if (!wasPaused) vm.Pause();
            try { vm.Save(path, SavedVmConfig.From(ForSave(vm, _config)), hypervisor.Name); }
            catch
            {
                if (!wasPaused) vm.Resume();
                throw;
            }
            _paused = true;
            _saved = true;
            vm.Stop(VmStopReason.Stopped, "saved");
        }
    }

    /// <summary>
    /// Live-migrates the running VM over <paramref name="stream"/> (see <see cref="MigrationSource"/>): on success the session
    /// ends (the VM runs elsewhere); a failure before the handover leaves it running here; a handover in doubt leaves it paused.
    /// </summary>
    public async Task<MigrationResult> MigrateAsync(Stream stream, MigrationOptions options, CancellationToken cancel)
    {
        VirtualMachine vm;
        SavedVmConfig config;
        lock (_lock)
        {
            vm = Running();
            if (_paused) throw new InvalidOperationException("the VM is paused: resume it before moving it");
            config = SavedVmConfig.From(ForSave(vm, _config));
        }
        try { return await MigrationSource.SendAsync(vm, config, hypervisor.Name, stream, options, cancel).ConfigureAwait(false); }
        catch (MigrationHandoverInDoubtException)
        {
            lock (_lock) _paused = true; // paused by the engine, and only resumed by hand once the destination is known not to run it
            throw;
        }
    }

    /// <summary>
    /// A checkpoint of the running VM: pauses it, writes it to <paramref name="path"/> (naming its disks' images as they
    /// are), switches each disk to a new differencing child (<paramref name="children"/>: image to child), and lets it run
    /// on as it did. Returns how long the guest was stopped. A failure leaves the VM on its own images and no state file.
    /// A production checkpoint (<paramref name="path"/> null) keeps no state: only the disks are switched.
    /// </summary>
    public TimeSpan Checkpoint(string? path, IReadOnlyDictionary<string, string> children)
    {
        lock (_lock)
        {
            var vm = Running();
            var paused = Stopwatch.StartNew();
            if (!_paused) vm.Pause();
            try
            {
                if (path is not null) vm.Save(path, SavedVmConfig.From(ForSave(vm, _config)), hypervisor.Name);
                var saved = paused.Elapsed;
                vm.SwitchDisksToChildren(children);
                // Where the pause goes: the state (memory included) written, then the disks switched.
                _config.Log($"checkpoint: {(path is null ? "no state kept (production)" : $"state written in {saved.TotalMilliseconds:0.0} ms")}, {children.Count} disk(s) switched in {(paused.Elapsed - saved).TotalMilliseconds:0.0} ms");
            }
            catch
            {
                if (path is not null) File.Delete(path);
                throw;
            }
            finally
            {
                if (!_paused) vm.Resume();
            }
            return paused.Elapsed;
        }
    }

    /// <summary>Presses the ACPI power button. A paused guest cannot hear it: refused.</summary>
    public void RequestShutdown()
    {
        lock (_lock)
        {
            var vm = Running();
            if (_paused) throw new InvalidOperationException("the VM is paused: resume it before asking the guest to shut down");
            vm.RequestShutdown();
        }
    }

    /// <summary>Cuts the power now, or as soon as a machine being built exists; the session ends (TurnedOff).</summary>
    public void TurnOff(string detail = "turned off")
    {
        lock (_lock)
        {
            _turnedOff = true;
            _turnOffDetail ??= detail;
            _vm?.Stop(VmStopReason.Stopped, _turnOffDetail);
        }
    }

    /// <summary>Resets the machine; completes once the rebuilt one runs (or the session has ended), so what is asked next reaches it.</summary>
    public Task ResetAsync()
    {
        Task rebuilt;
        lock (_lock)
        {
            var vm = Running();
            rebuilt = _nextMachine.Task;
            if (_paused) vm.Resume();
            _paused = false;
            vm.Stop(VmStopReason.Reset);
        }
        return rebuilt;
    }

    private VirtualMachine Running()
    {
        if (_ended) throw new InvalidOperationException("the VM has ended");
        return _vm ?? throw new InvalidOperationException("the VM is not running (starting or stopping)");
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>How a machine of a session came to run.</summary>
public enum MachineStart { Booted, Restored, RebootedAfterReset, Migrated }

/// <summary>How a session ended for good.</summary>
public enum SessionEndKind { PoweredOff, Saved, TurnedOff, Crashed, Failed }

/// <summary>How a session ended: the kind, the reason in words (what the host records as the VM's last off reason), and the last machine's stop.</summary>
public sealed record SessionEnd(SessionEndKind Kind, string Reason, VmStopReason Stop);
