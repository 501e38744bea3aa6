using HyperSharp.Inventory;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Service;

/// <summary>
/// The host's live view of one VM: configuration, recorded runtime, current state and worker. Its two locks are its own:
/// state fields change only through its methods (each under the VM's state lock, which nothing awaits under), and whole
/// operations (start, stop, save, reconfigure...) hold its operation gate (<see cref="TryBeginOperation"/>,
/// <see cref="WaitForOperationAsync"/>), which a second request does not wait for: it is told the VM is busy. No caller
/// can take them in another order: the gate is never taken under the state lock.
/// </summary>
public sealed class ManagedVm(VmFolder folder, VmConfiguration config, VmRuntimeRecord runtime)
{
    private readonly object _sync = new();
    private readonly SemaphoreSlim _operation = new(1, 1);

    public VmFolder Folder { get; } = folder;
    public VmConfiguration Config { get; set; } = config;
    public VmRuntimeRecord Runtime { get; private set; } = runtime;
    public PowerState State { get; private set; } = PowerState.Off;
    public int WorkerPid { get; private set; }
    public string Status { get; private set; } = NormalStatus;

    /// <summary>Hyper-V's Status of a VM with nothing wrong.</summary>
    public const string NormalStatus = "Operating normally";
    public bool Removed { get; private set; }

    /// <summary>What is wrong with the VM's folder (the file and the problem), for a VM the host could not read; null when it is whole.</summary>
    public string? Damage { get; init; }

    /// <summary>What the operation in progress is doing ("starting", "saving"...), for a request refused as busy; null when none runs.</summary>
    public string? OperationName { get; private set; }

    /// <summary>Completes when the current worker has ended and the VM's state says so.</summary>
    public Task WorkerExited => _workerExited.Task;
    private TaskCompletionSource _workerExited = Completed();

    /// <summary>The last CPU-time sample (for a recent CPU usage rather than a lifetime average).</summary>
    public (long Ticks, TimeSpan Cpu)? CpuSample { get; set; }

    /// <summary>The network adapters as the worker last reported them (slot, link); empty while no worker runs.</summary>
    public IReadOnlyList<WorkerAdapterStatus> Adapters { get; set; } = [];

    /// <summary>The guest agent as the worker last reported it (heartbeat, software, the guest's addresses); null while no worker runs.</summary>
    public GuestIntegrationStatus? Guest { get; set; }
    /// <summary>Set while the VM arrives by live migration: how its worker is launched, and the port it then listens on.</summary>
    public Migration.IncomingWorker? Incoming { get; set; }

    public WorkerClient Worker => new(Folder.SocketFile);
    public Guid Id => Config.Id;
    public string Name => Config.Name;

    /// <summary>The VM's operation gate for <paramref name="operation"/>, if no other operation holds it; null when one does.</summary>
    public OperationScope? TryBeginOperation(string operation)
    {
        if (!_operation.Wait(0)) return null;
        OperationName = operation;
        return new OperationScope(this);
    }

    /// <summary>The VM's operation gate for <paramref name="operation"/>, once the operation holding it (if any) has ended.</summary>
    public async Task<OperationScope> WaitForOperationAsync(string operation, CancellationToken cancellationToken)
    {
        await _operation.WaitAsync(cancellationToken).ConfigureAwait(false);
        OperationName = operation;
        return new OperationScope(this);
    }

    /// <summary>Whether no operation holds the VM.</summary>
    public bool Idle => _operation.CurrentCount == 1;

    /// <summary>The VM's operation gate, held until disposed.</summary>
    public sealed class OperationScope : IDisposable
    {
        private ManagedVm? _vm;

        internal OperationScope(ManagedVm vm) => _vm = vm;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _vm, null) is not { } vm) return;
            vm.OperationName = null;
            vm._operation.Release();
        }
    }

    /// <summary>The state set; the state it had is returned.</summary>
    public PowerState ChangeState(PowerState state)
    {
        lock (_sync)
        {
            var old = State;
            State = state;
            return old;
        }
    }

    /// <summary>The state set to <paramref name="state"/> only if it still is <paramref name="expected"/> and its worker has not ended; whether it was.</summary>
    public bool ChangeStateIf(PowerState expected, PowerState state, string status)
    {
        lock (_sync)
        {
            if (State != expected || _workerExited.Task.IsCompleted) return false;
            State = state;
            Status = status;
            return true;
        }
    }

    public void SetStatus(string status)
    {
        lock (_sync) Status = status;
    }

    /// <summary>The VM is gone from this host: operations that still hold it stop short of writing its folder.</summary>
    public void MarkRemoved()
    {
        lock (_sync) Removed = true;
    }

    /// <summary>The runtime record changed by <paramref name="change"/> and written to the VM's folder.</summary>
    public void RecordRuntime(Func<VmRuntimeRecord, VmRuntimeRecord> change)
    {
        lock (_sync)
        {
            Runtime = change(Runtime);
            VmInventory.Save(Folder, Runtime);
        }
    }

    /// <summary>A worker (<paramref name="pid"/>) now runs the VM: its end is awaited afresh, and the VM is <paramref name="state"/>.</summary>
    public void WorkerStarted(int pid, PowerState? state = null, Func<VmRuntimeRecord, VmRuntimeRecord>? runtime = null)
    {
        lock (_sync)
        {
            WorkerPid = pid;
            _workerExited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            CpuSample = null;
            if (state is { } s) State = s;
            if (runtime is not null)
            {
                Runtime = runtime(Runtime);
                VmInventory.Save(Folder, Runtime);
            }
        }
    }

    /// <summary>Whether <paramref name="pid"/> is the VM's current worker.</summary>
    public bool IsWorker(int pid)
    {
        lock (_sync) return WorkerPid == pid;
    }

    /// <summary>
    /// The worker <paramref name="pid"/> has ended, if it is the VM's: the VM takes <paramref name="state"/>, the status and
    /// the runtime <paramref name="ended"/> gives it (from the state it had) and writes it (unless the VM was removed;
    /// <paramref name="writeFailed"/> hears why a write failed). Null when <paramref name="pid"/> is not the VM's worker;
    /// else the state the VM had. <see cref="WorkerExited"/> completes with <see cref="CompleteWorkerExit"/>, once the end is told.
    /// </summary>
    public PowerState? EndWorker(int pid, PowerState state, Func<PowerState, (string Status, VmRuntimeRecord Runtime)> ended, Action<Exception> writeFailed)
    {
        lock (_sync)
        {
            if (WorkerPid != pid) return null;
            var old = State;
            State = state;
            WorkerPid = 0;
            (Status, Runtime) = ended(old);
            if (!Removed)
            {
                try
                {
                    VmInventory.Save(Folder, Runtime);
                    File.Delete(Folder.ExitFile);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { writeFailed(e); }
            }
            return old;
        }
    }

    /// <summary>Those who wait for the worker's end (<see cref="WorkerExited"/>) hear of it.</summary>
    public void CompleteWorkerExit() => _workerExited.TrySetResult();

    /// <summary>A VM read from its folder with no worker: Off or Saved, as found.</summary>
    public void Found(PowerState state, string? status = null)
    {
        lock (_sync)
        {
            State = state;
            if (status is not null) Status = status;
        }
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
        return done;
    }
}
