using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Service;

/// <summary>
/// The host's live view of one VM: configuration, recorded runtime, current state and worker. State
/// fields change under <see cref="Sync"/>; whole operations (start, stop, save, reconfigure...) hold
/// <see cref="Operation"/>, which a second request does not wait for: it is told the VM is busy.
/// </summary>
public sealed class ManagedVm(VmFolder folder, VmConfiguration config, VmRuntimeRecord runtime)
{
    public VmFolder Folder { get; } = folder;
    public VmConfiguration Config { get; set; } = config;
    public VmRuntimeRecord Runtime { get; set; } = runtime;
    public VmState State { get; set; } = VmState.Off;
    public int WorkerPid { get; set; }
    public string Status { get; set; } = NormalStatus;

    /// <summary>Hyper-V's Status of a VM with nothing wrong.</summary>
    public const string NormalStatus = "Operating normally";
    public bool Removed { get; set; }

    /// <summary>What is wrong with the VM's folder (the file and the problem), for a VM the host could not read; null when it is whole.</summary>
    public string? Damage { get; init; }

    public object Sync { get; } = new();
    public SemaphoreSlim Operation { get; } = new(1, 1);
    public string? OperationName { get; set; }

    /// <summary>Completes when the current worker has ended and the VM's state says so.</summary>
    public TaskCompletionSource WorkerExited { get; set; } = Completed();

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

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
        return done;
    }
}
