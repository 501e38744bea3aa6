using HyperSharp.Host.Service;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Tests.Lifecycle;

/// <summary>
/// Workers without processes, for the lifecycle's tests: a launch waits until the test says the worker is ready or
/// ends it; requests are recorded and answered as a worker would (save and turn-off end the worker).
/// </summary>
internal sealed class FakeWorkerSupervisor : IWorkerSupervisor
{
    private int _nextPid = 4000;
    private TaskCompletionSource<WorkerResponse?> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public event Action<ManagedVm, WorkerReport>? Reported;
    public event Action<ManagedVm, int, WorkerExitRecord?>? Ended;

    public List<bool> Launches { get; } = [];
    public List<string> Requests { get; } = [];
    public List<int> Killed { get; } = [];

    /// <summary>A request the worker refuses, with this message.</summary>
    public string? Refuse { get; set; }

    public Task<WorkerResponse?> LaunchAsync(ManagedVm vm, bool restore, Action<int> launched, CancellationToken cancellationToken)
    {
        Launches.Add(restore);
        launched(++_nextPid);
        _ready = new TaskCompletionSource<WorkerResponse?>(TaskCreationOptions.RunContinuationsAsynchronously);
        return _ready.Task;
    }

    /// <summary>The launched worker says its VM runs.</summary>
    public void Ready(bool paused = false) => _ready.TrySetResult(new WorkerResponse { Ok = true, Running = true, Paused = paused });

    /// <summary>The worker ends, having said <paramref name="exit"/> (null: it said nothing — a crash).</summary>
    public void End(ManagedVm vm, WorkerExitRecord? exit)
    {
        int pid = vm.WorkerPid;
        Ended?.Invoke(vm, pid, exit is null ? null : exit with { Pid = pid });
        _ready.TrySetResult(null);
    }

    public void Report(ManagedVm vm, string kind) => Reported?.Invoke(vm, new WorkerReport { Kind = kind });

    public Task<WorkerResponse?> AdoptAsync(ManagedVm vm, int pid, CancellationToken cancellationToken) =>
        Task.FromResult<WorkerResponse?>(new WorkerResponse { Ok = true, Running = true });

    public Task<WorkerResponse> SendAsync(ManagedVm vm, WorkerRequest request, CancellationToken cancellationToken, int? descriptor = null)
    {
        Requests.Add(request.Op);
        if (Refuse is { } why) throw new WorkerException(why);
        switch (request.Op)
        {
            case WorkerOps.Save:
                End(vm, new WorkerExitRecord { Saved = true, Reason = "saved" });
                break;
            case WorkerOps.TurnOff:
                End(vm, new WorkerExitRecord { Reason = "turned off" });
                break;
        }
        return Task.FromResult(new WorkerResponse { Ok = true, Running = true });
    }

    public void Kill(int pid) => Killed.Add(pid);
}
