using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using HyperSharp.Host.Network;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Service;

/// <summary>
/// The live side of network adapters: each connected adapter of a running VM has a port on its switch, and the worker
/// holds the other end of the port's seqpacket pair, passed over the worker's control socket (SCM_RIGHTS) when the VM
/// starts, when the adapter is added or moved, and again after a host restart. A worker that ends frees its ports.
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

    /// <summary>
    /// A worker has just started (or a restarted host found it running): every adapter gets its label and, when its
    /// switch runs, a port. One that cannot be connected is logged and shows in its status; the VM runs on.
    /// </summary>
    private async Task ConnectAdaptersAsync(ManagedVm vm, CancellationToken cancellationToken)
    {
        foreach (var adapter in vm.Config.NetworkAdapters)
        {
            try
            {
                // A saved state brings back the labels it was saved with; the name may have changed since.
                await AskAdapterAsync(vm, new WorkerRequest { Op = WorkerOps.LabelNic, Adapter = adapter.Id, Label = adapter.Name }, null, cancellationToken).ConfigureAwait(false);
                if (adapter.SwitchId is not { } id) continue;
                if (Switches.FindById(id) is not { Running: not null } target)
                {
                    _log($"VM '{vm.Name}': adapter '{adapter.Name}' stays disconnected: its switch is gone or not running");
                    continue;
                }
                await ConnectLiveAsync(vm, adapter, target, cancellationToken).ConfigureAwait(false);
            }
            catch (Grpc.Core.RpcException e) { _log($"VM '{vm.Name}': adapter '{adapter.Name}' not connected: {e.Status.Detail}"); }
        }
    }

    /// <summary>The worker is gone: its adapters' ports close (the switch forgets their addresses).</summary>
    private void FreePorts(ManagedVm vm)
    {
        foreach (var adapter in vm.Config.NetworkAdapters) Switches.Detach(adapter.Id);
        vm.Adapters = [];
    }

    /// <summary>An adapter request to the worker, with the port descriptor when there is one; keeps the reported slots.</summary>
    private static async Task AskAdapterAsync(ManagedVm vm, WorkerRequest request, int? descriptor, CancellationToken cancellationToken)
    {
        try { vm.Adapters = (await vm.Worker.SendAsync(request, cancellationToken, descriptor).ConfigureAwait(false)).Adapters; }
        catch (WorkerException e) { throw HostErrors.Precondition($"VM '{vm.Name}': {e.Message}"); }
    }
}
