using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using HyperSharp.Host.Network;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Service;

/// <summary>
/// The live side of network adapters: each connected adapter of a running VM has a port on its switch, and the worker
/// holds the other end of the port's seqpacket pair, passed (SCM_RIGHTS) on the report channel as the worker starts, before
/// it builds the VM, and again when a host restart attaches to it; on the worker's control socket when the adapter is added or moved. A worker that ends frees its ports.
/// </summary>
public sealed partial class VmManager
{
    public SwitchManager Switches { get; }

    /// <summary>Whether the VM has a worker that takes adapter changes now.</summary>
    private static bool IsLive(ManagedVm vm) => vm.WorkerPid > 0 && vm.State is VmState.Running or VmState.Paused;

    private async Task AddLiveAsync(ManagedVm vm, NetworkAdapterSettings adapter, HostSwitch? target, CancellationToken cancellationToken)
    {
        using var workerEnd = target is { Running: not null } ? Switches.Attach(adapter.Id, target, NetworkProjection.Port(adapter)) : null;
        var request = new WorkerRequest
        {
            Op = WorkerOps.AddNic, Adapter = adapter.Id, Label = adapter.Name, Mac = adapter.MacAddress, Descriptor = workerEnd is not null,
        };
        await AskAdapterAsync(vm, request, workerEnd?.Descriptor, cancellationToken).ConfigureAwait(false);
    }

    private async Task UpdateLiveAsync(ManagedVm vm, NetworkAdapterSettings current, NetworkAdapterSettings updated, HostSwitch? target, bool switchChanged, CancellationToken cancellationToken)
    {
        if (updated.Name != current.Name)
            await AskAdapterAsync(vm, new WorkerRequest { Op = WorkerOps.LabelNic, Adapter = updated.Id, Label = updated.Name }, null, cancellationToken).ConfigureAwait(false);
        if (switchChanged)
        {
            if (target is null)
            {
                Switches.Detach(updated.Id);
                await AskAdapterAsync(vm, new WorkerRequest { Op = WorkerOps.DisconnectNic, Adapter = updated.Id }, null, cancellationToken).ConfigureAwait(false);
            }
            else await ConnectLiveAsync(vm, updated, target, cancellationToken).ConfigureAwait(false);
        }
        else Switches.UpdatePort(updated.Id, NetworkProjection.Port(updated)); // policies and VLAN take effect on the next frame
    }

    /// <summary>Gives the adapter a new port on <paramref name="target"/> and plugs the worker's device into it.</summary>
    private async Task ConnectLiveAsync(ManagedVm vm, NetworkAdapterSettings adapter, HostSwitch target, CancellationToken cancellationToken)
    {
        using var workerEnd = Switches.Attach(adapter.Id, target, NetworkProjection.Port(adapter));
        try
        {
            var request = new WorkerRequest { Op = WorkerOps.ConnectNic, Adapter = adapter.Id, Descriptor = true };
            await AskAdapterAsync(vm, request, workerEnd.Descriptor, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Switches.Detach(adapter.Id);
            throw;
        }
    }

    /// <summary>An adapter request to the worker, with the port descriptor when there is one; keeps the reported slots.</summary>
    private async Task AskAdapterAsync(ManagedVm vm, WorkerRequest request, int? descriptor, CancellationToken cancellationToken)
    {
        try { vm.Adapters = (await Lifecycle.Workers.SendAsync(vm, request, cancellationToken, descriptor).ConfigureAwait(false)).Adapters; }
        catch (WorkerException e) { throw HostErrors.Precondition($"VM '{vm.Name}': {e.Message}"); }
    }
}
