using HyperSharp.Host.Service;
using HyperSharp.Host.Service.Domain;
using HyperSharp.Inventory;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Tests.Lifecycle;

/// <summary>
/// The power state machine in process, against workers that are only a fake: each move and each refusal, in
/// milliseconds, with no worker process, socket or gRPC.
/// </summary>
public sealed class VmLifecycleStateTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("hs-lifecycle-").FullName;
    private readonly FakeWorkerSupervisor _workers = new();
    private readonly EventFeed _events = new();
    private readonly List<string> _log = [];
    private readonly VmLifecycle _lifecycle;

    public VmLifecycleStateTests() => _lifecycle = new VmLifecycle(_workers, _events, line => { lock (_log) _log.Add(line); }, "test:/inventory");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private ManagedVm NewVm()
    {
        string folder = Directory.CreateDirectory(Path.Combine(_root, Guid.NewGuid().ToString("D"))).FullName;
        string kernel = Path.Combine(folder, "kernel.elf");
        File.WriteAllBytes(kernel, [0x7F, (byte)'E', (byte)'L', (byte)'F', 0, 0, 0, 0]);
        var config = new VmConfiguration
        {
            Id = Guid.NewGuid(), Name = "vm", Memory = new MemorySettings { StartupBytes = 64L << 20 },
            Boot = new BootSettings { KernelPath = kernel },
        };
        return new ManagedVm(new VmFolder(folder), config, new VmRuntimeRecord());
    }

    private async Task<ManagedVm> RunningVm()
    {
        var vm = NewVm();
        var start = _lifecycle.StartAsync(vm, CancellationToken.None);
        _workers.Ready();
        await start;
        return vm;
    }

    [Fact]
    public async Task A_start_answers_once_the_worker_is_ready_and_records_the_VM_running()
    {
        var vm = NewVm();
        using var events = _events.Subscribe();
        var start = _lifecycle.StartAsync(vm, CancellationToken.None);
        Assert.Equal(PowerState.Starting, vm.State);
        Assert.False(start.IsCompleted); // not before the worker says its guest runs
        _workers.Ready();
        await start;

        Assert.Equal(PowerState.Running, vm.State);
        Assert.Equal([false], _workers.Launches);
        Assert.Equal(RecordedState.Running, InventoryJson.Read<VmRuntimeRecord>(vm.Folder.RuntimeFile)!.State);
        Assert.Equal([PowerState.Starting, PowerState.Running], await States(events, 2));
    }

    [Fact]
    public async Task A_worker_that_ends_before_it_is_ready_fails_the_start_with_its_reason()
    {
        var vm = NewVm();
        var start = _lifecycle.StartAsync(vm, CancellationToken.None);
        _workers.End(vm, new WorkerExitRecord { Reason = "cannot start: its kernel went away" });

        var error = await Assert.ThrowsAsync<HostException>(() => start);
        Assert.Equal(HostErrorKind.FailedPrecondition, error.Kind);
        Assert.Contains("did not start: cannot start: its kernel went away", error.Message);
        Assert.Equal(PowerState.Off, vm.State);
        Assert.StartsWith("Start failed: ", vm.Status);
    }

    [Fact]
    public async Task A_second_operation_while_one_runs_is_refused_as_busy_not_queued()
    {
        var vm = NewVm();
        var start = _lifecycle.StartAsync(vm, CancellationToken.None);
        var busy = await Assert.ThrowsAsync<HostException>(() => _lifecycle.SaveAsync(vm, CancellationToken.None));
        Assert.Equal(HostErrorKind.Busy, busy.Kind);
        Assert.Contains("another request is starting it", busy.Message);
        _workers.Ready();
        await start;
        Assert.Empty(_workers.Requests); // the refused save never reached the worker
    }

    [Fact]
    public async Task A_worker_that_ends_without_a_word_is_a_crash_the_VM_shows_and_reports()
    {
        var vm = await RunningVm();
        using var events = _events.Subscribe();
        _workers.End(vm, exit: null);

        Assert.Equal(PowerState.Off, vm.State);
        Assert.StartsWith("Worker crashed: the worker process (PID ", vm.Status);
        var kinds = new List<VmChangeKind>();
        await foreach (var e in events.ReadAllAsync(CancellationToken.None)) { kinds.Add(e.Kind); if (kinds.Count == 2) break; }
        Assert.Equal([VmChangeKind.StateChanged, VmChangeKind.Error], kinds);
    }

    [Fact]
    public async Task A_saved_VM_starts_by_restoring_and_Stop_discards_its_saved_state()
    {
        var vm = await RunningVm();
        await _lifecycle.SaveAsync(vm, CancellationToken.None);
        Assert.Equal(PowerState.Saved, vm.State);
        Assert.Equal(RecordedState.Saved, InventoryJson.Read<VmRuntimeRecord>(vm.Folder.RuntimeFile)!.State);

        var restart = _lifecycle.StartAsync(vm, CancellationToken.None);
        _workers.Ready();
        await restart;
        Assert.Equal([false, true], _workers.Launches); // the second launch restores

        await _lifecycle.SaveAsync(vm, CancellationToken.None);
        File.WriteAllText(vm.Folder.SavedStateFile, "state");
        await _lifecycle.StopAsync(vm, new StopOptions(), CancellationToken.None);
        Assert.Equal(PowerState.Off, vm.State);
        Assert.False(File.Exists(vm.Folder.SavedStateFile));
    }

    [Fact]
    public async Task A_refused_pause_leaves_the_VM_running_and_names_the_worker_reason()
    {
        var vm = await RunningVm();
        _workers.Refuse = "the VM is not running (starting or stopping)";
        var error = await Assert.ThrowsAsync<HostException>(() => _lifecycle.SuspendAsync(vm, CancellationToken.None));
        Assert.Equal(HostErrorKind.FailedPrecondition, error.Kind);
        Assert.Equal("VM 'vm': the VM is not running (starting or stopping)", error.Message);
        Assert.Equal(PowerState.Running, vm.State);
    }

    [Fact]
    public async Task What_a_worker_reports_by_itself_shows_in_the_state()
    {
        var vm = await RunningVm();
        _workers.Report(vm, WorkerReportKinds.Paused);
        Assert.Equal(PowerState.Paused, vm.State);
        _workers.Report(vm, WorkerReportKinds.Resumed);
        Assert.Equal(PowerState.Running, vm.State);
    }

    [Fact]
    public async Task A_turn_off_the_worker_does_not_take_kills_it()
    {
        var vm = await RunningVm();
        int pid = vm.WorkerPid;
        _workers.Refuse = "the worker went away during the request";
        var stop = _lifecycle.StopAsync(vm, new StopOptions(TurnOff: true), CancellationToken.None);
        Assert.Equal([pid], _workers.Killed);
        _workers.End(vm, exit: null); // the killed worker's end
        await stop;
        Assert.Equal(PowerState.Off, vm.State);
    }

    [Fact]
    public async Task Wrong_states_are_refused_naming_the_state()
    {
        var vm = NewVm();
        var error = await Assert.ThrowsAsync<HostException>(() => _lifecycle.SuspendAsync(vm, CancellationToken.None));
        Assert.Equal("cannot pause VM 'vm': it is Off", error.Message);
        vm.Config = vm.Config with { Boot = vm.Config.Boot with { KernelPath = "" } };
        error = await Assert.ThrowsAsync<HostException>(() => _lifecycle.StartAsync(vm, CancellationToken.None));
        Assert.Contains("has nothing to boot", error.Message);
        Assert.Empty(_workers.Launches);
    }

    private static async Task<List<PowerState>> States(EventFeed.Subscription events, int count)
    {
        var states = new List<PowerState>();
        await foreach (var e in events.ReadAllAsync(CancellationToken.None))
        {
            if (e.Kind == VmChangeKind.StateChanged) states.Add(e.NewState);
            if (states.Count == count) break;
        }
        return states;
    }
}
