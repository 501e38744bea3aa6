using HyperSharp.Api.V1;
using HyperSharp.Host.Network;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Host.Service;

/// <summary>New-, Get-, Set-, Rename- and Remove-VMSwitch: the switches themselves live in <see cref="SwitchManager"/>; this adds what touches VMs.</summary>
public sealed partial class VmManager
{
    public List<VmSwitch> ListSwitches(ListSwitchesRequest request) => [.. Switches.List()
        .Where(s => request.Name.Length == 0 || Wildcard.Matches(request.Name, s.Name))
        .Where(s => request.SwitchType == Api.V1.SwitchType.Unspecified || NetworkProjection.Type(s.Config.Type) == request.SwitchType)
        .Select(Project)];

    public VmSwitch GetSwitch(SwitchRef reference) => Project(Switches.Find(reference));

    public VmSwitch CreateSwitch(CreateSwitchRequest request) => Project(Switches.Create(NetworkRequests.Switch(request)));

    public VmSwitch UpdateSwitch(UpdateSwitchRequest request)
    {
        var target = Switches.Find(request.Switch);
        string? name = request.HasNewName ? RequestValidation.Name("new_name", request.NewName, "switch") : null;
        string? notes = request.HasNotes ? RequestValidation.Notes("notes", request.Notes) : null;
        return Project(Switches.Update(target, name, notes));
    }

    /// <summary>
    /// Remove-VMSwitch: the switch stops (its TAP or uplink goes), and every adapter on it stays on its VM, disconnected —
    /// a running guest sees its link go down. VMs busy with another request are waited for, not refused.
    /// </summary>
    public async Task RemoveSwitchAsync(RemoveSwitchRequest request, CancellationToken cancellationToken)
    {
        var target = Switches.Find(request.Switch);
        Switches.Remove(target);
        foreach (var vm in List(null).Where(vm => vm.Config.NetworkAdapters.Exists(a => a.SwitchId == target.Id)))
        {
            await vm.Operation.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (vm.Removed || vm.Damage is not null) continue; // a damaged folder is not written to
                var affected = vm.Config.NetworkAdapters.Where(a => a.SwitchId == target.Id).ToList();
                if (IsLive(vm))
                    foreach (var adapter in affected)
                    {
                        try { await AskAdapterAsync(vm, new WorkerRequest { Op = WorkerOps.DisconnectNic, Adapter = adapter.Id }, null, cancellationToken).ConfigureAwait(false); }
                        catch (HostException e) { _log($"VM '{vm.Name}': adapter '{adapter.Name}' did not take the disconnect: {e.Message}"); }
                    }
                Commit(vm, vm.Config with { NetworkAdapters = [.. vm.Config.NetworkAdapters.Select(a => a.SwitchId == target.Id ? a with { SwitchId = null } : a)] });
            }
            finally { vm.Operation.Release(); }
        }
    }

    private VmSwitch Project(HostSwitch s) => NetworkProjection.Switch(s, AdaptersOn(s.Id));
}
