using HyperSharp.Host.Service;
using HyperSharp.Inventory;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Workers;

/// <summary>
/// The worker processes of the host's VMs, as the lifecycle needs them: start one, follow one found running after a host
/// restart, send one a request, end one at once — and hear what a worker says by itself (its guest paused or resumed,
/// its end). The lifecycle's tests put a fake behind this; the host puts <see cref="WorkerSupervisor"/>.
/// </summary>
public interface IWorkerSupervisor
{
    /// <summary>
    /// Starts the VM's worker (restoring its saved state when <paramref name="restore"/>), calls <paramref name="launched"/>
    /// with its PID before anything of it can be reported, and returns a task with the worker's "ready" status — null if
    /// it ended first (its end is reported through <see cref="Ended"/>). A worker that cannot even be launched throws.
    /// </summary>
    Task<WorkerResponse?> LaunchAsync(ManagedVm vm, bool restore, Action<int> launched, CancellationToken cancellationToken);

    /// <summary>Follows the worker <paramref name="pid"/> found running after a host restart; its status once attached, or null if it has ended.</summary>
    Task<WorkerResponse?> AdoptAsync(ManagedVm vm, int pid, CancellationToken cancellationToken);

    /// <summary>One request to the VM's worker; a refusal or a worker out of reach is a <see cref="WorkerException"/>.</summary>
    Task<WorkerResponse> SendAsync(ManagedVm vm, WorkerRequest request, CancellationToken cancellationToken, int? descriptor = null);

    /// <summary>Ends the worker <paramref name="pid"/> now (SIGKILL); its end is reported as any other.</summary>
    void Kill(int pid);

    /// <summary>What a worker reported of its own accord (<see cref="WorkerReportKinds"/>: paused, resumed, reset, throttled).</summary>
    event Action<ManagedVm, WorkerReport>? Reported;

    /// <summary>A worker has gone (its resources released): the VM, its PID, and what it said of its end (null: it said nothing).</summary>
    event Action<ManagedVm, int, WorkerExitRecord?>? Ended;
}
