using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using HyperSharp.Host.Network;
using HyperSharp.Host.Service.Domain;
using HyperSharp.Networking.Configuration;
using HyperSharp.Networking.Frames;
using HyperSharp.Inventory.Workers;
using HyperSharp.Host.Workers;

namespace HyperSharp.Host.Service;

/// <summary>
/// The VMs' networking: Add-/Get-/Set-/Rename-/Remove-VMNetworkAdapter, Connect-/Disconnect-VMNetworkAdapter,
/// Set-VMNetworkAdapterVlan, and the switch calls that touch VMs (the switches themselves are <see cref="SwitchManager"/>'s).
/// On a running VM every change is live: add and remove through PCI hotplug, a rename or a device-naming change as the
/// slot label (the guest's firmware evaluates it on each read, so it sees the new one at once), a switch change
/// as a port moved (the worker holds its end of each port's seqpacket pair, passed by SCM_RIGHTS), policies on the port at once.
/// MAC addresses are unique on the host.
/// </summary>
public sealed class VmNetworking(VmManager vms, SwitchManager switches, VmConfigurationStore configuration, VmLifecycle lifecycle, Action<string> log)
{
    private MacAddressRegistry _macs = null!; // built once the inventory is read (every address in use is known then)

    /// <summary>The adapters of <paramref name="vm"/> (null: of every VM) whose names match <paramref name="nameFilter"/> (null or empty: all).</summary>
    public List<NetworkAdapter> ListAdapters(ManagedVm? vm, string? nameFilter)
    {
        var chosen = vm is not null ? [vm] : vms.List(null);
        return [.. chosen.SelectMany(vm => vm.Config.NetworkAdapters
            .Where(a => string.IsNullOrEmpty(nameFilter) || Wildcard.Matches(nameFilter, a.Name))
            .Select(a => NetworkProjection.Adapter(vm, a, switches)))];
    }

    public async Task<NetworkAdapter> AddAdapterAsync(ManagedVm vm, NewNetworkAdapter spec, CancellationToken cancellationToken)
    {
        string name = string.IsNullOrEmpty(spec.Name) ? NetworkRequests.DefaultAdapterName : NetworkRequests.AdapterName("name", spec.Name);
        var target = string.IsNullOrEmpty(spec.SwitchName) ? null : SwitchNamed("switch_name", spec.SwitchName);
        MacAddress? staticMac = string.IsNullOrEmpty(spec.StaticMacAddress) ? null : NetworkRequests.StaticMac("static_mac_address", spec.StaticMacAddress);
        bool deviceNaming = spec.DeviceNaming is { } naming && NetworkRequests.OnOff("device_naming", naming);
        using var _ = lifecycle.Begin(vm, "changing the network adapters of");
        if (vm.State is not (PowerState.Off or PowerState.Running or PowerState.Paused)) throw HostErrors.WrongState(vm.Name, vm.State, "add a network adapter to");
        var adapters = vm.Config.NetworkAdapters;
        if (adapters.Count >= NetworkRequests.MaxAdaptersPerVm)
            throw HostErrors.Precondition($"VM '{vm.Name}' has {adapters.Count} network adapters, the most a VM may have ({NetworkRequests.MaxAdaptersPerVm}); remove one first");
        EnsureAdapterNameFree(vm, name, null);
        var id = Guid.NewGuid();
        var mac = TakeMac(staticMac, "static_mac_address", new MacAddressRegistry.Holder(id, Describe(vm, name)));
        var adapter = new NetworkAdapterSettings
        {
            Id = id, Name = name, SwitchId = target?.Id, MacAddress = NetworkRequests.Hex(mac), DynamicMacAddress = staticMac is null,
            DeviceNaming = deviceNaming,
        };
        try
        {
            if (IsLive(vm)) await AddLiveAsync(vm, adapter, target, cancellationToken).ConfigureAwait(false);
            configuration.Commit(vm, vm.Config with { NetworkAdapters = [.. adapters, adapter] });
        }
        catch
        {
            switches.Detach(adapter.Id);
            _macs.Release(mac, adapter.Id);
            throw;
        }
        return NetworkProjection.Adapter(vm, adapter, switches);
    }

    public async Task<NetworkAdapter> UpdateAdapterAsync(ManagedVm vm, AdapterRef reference, NetworkAdapterChange change, CancellationToken cancellationToken)
    {
        string? newName = change.NewName is { } given ? NetworkRequests.AdapterName("new_name", given) : null;
        HostSwitch? target = change.SwitchName is { Length: > 0 } switchName ? SwitchNamed("switch_name", switchName) : null;
        MacAddress? staticMac = change.StaticMacAddress is { Length: > 0 } macText ? NetworkRequests.StaticMac("static_mac_address", macText) : null;
        using var _ = lifecycle.Begin(vm, "changing the network adapters of");
        var current = FindAdapter(vm, reference);
        var updated = current;
        if (newName is not null)
        {
            EnsureAdapterNameFree(vm, newName, current);
            updated = updated with { Name = newName };
        }
        bool switchChanged = change.SwitchName is not null;
        if (switchChanged) updated = updated with { SwitchId = target?.Id };
        if (change.MacAddressSpoofing is { } spoofing) updated = updated with { MacAddressSpoofing = NetworkRequests.OnOff("mac_address_spoofing", spoofing) };
        if (change.DhcpGuard is { } dhcpGuard) updated = updated with { DhcpGuard = NetworkRequests.OnOff("dhcp_guard", dhcpGuard) };
        if (change.RouterGuard is { } routerGuard) updated = updated with { RouterGuard = NetworkRequests.OnOff("router_guard", routerGuard) };
        if (change.MaximumBandwidth is { } bandwidth) updated = updated with { MaximumBandwidth = NetworkRequests.Bandwidth("maximum_bandwidth", bandwidth) };
        if (change.AccessVlanId is { } vlan) updated = updated with { AccessVlanId = NetworkRequests.Vlan("access_vlan_id", vlan) };
        if (change.DeviceNaming is { } naming) updated = updated with { DeviceNaming = NetworkRequests.OnOff("device_naming", naming) };
        MacAddress? taken = null;
        if (change.StaticMacAddress is not null)
        {
            // The guest's device carries its MAC from power-on (and a saved state holds it): only an Off VM changes it.
            if (vm.State != PowerState.Off) throw HostErrors.WrongState(vm.Name, vm.State, "change the MAC address of an adapter of");
            taken = TakeMac(staticMac, "static_mac_address", new MacAddressRegistry.Holder(current.Id, Describe(vm, updated.Name)));
            updated = updated with { MacAddress = NetworkRequests.Hex(taken.Value), DynamicMacAddress = staticMac is null };
        }
        try
        {
            if (IsLive(vm)) await UpdateLiveAsync(vm, current, updated, target, switchChanged, cancellationToken).ConfigureAwait(false);
            configuration.Commit(vm, vm.Config with { NetworkAdapters = [.. vm.Config.NetworkAdapters.Select(a => a.Id == current.Id ? updated : a)] });
        }
        catch
        {
            if (taken is { } t && t.Value != MacAddress.Parse(current.MacAddress).Value) _macs.Release(t, current.Id);
            throw;
        }
        if (taken is { } newMac && newMac.Value != MacAddress.Parse(current.MacAddress).Value) _macs.Release(MacAddress.Parse(current.MacAddress), current.Id);
        return NetworkProjection.Adapter(vm, updated, switches);
    }

    public async Task RemoveAdapterAsync(ManagedVm vm, AdapterRef reference, CancellationToken cancellationToken)
    {
        using var _ = lifecycle.Begin(vm, "changing the network adapters of");
        var adapter = FindAdapter(vm, reference);
        if (vm.State is not (PowerState.Off or PowerState.Running or PowerState.Paused)) throw HostErrors.WrongState(vm.Name, vm.State, "remove a network adapter from");
        if (IsLive(vm)) await AskAdapterAsync(vm, new WorkerRequest { Op = WorkerOps.RemoveNic, Adapter = adapter.Id }, null, cancellationToken).ConfigureAwait(false);
        switches.Detach(adapter.Id);
        configuration.Commit(vm, vm.Config with { NetworkAdapters = [.. vm.Config.NetworkAdapters.Where(a => a.Id != adapter.Id)] });
        _macs.Release(MacAddress.Parse(adapter.MacAddress), adapter.Id);
    }

    /// <summary>The VM's adapter a reference names (by id, else by name), or NOT_FOUND.</summary>
    private static NetworkAdapterSettings FindAdapter(ManagedVm vm, AdapterRef reference)
    {
        if (reference.Id.Length > 0)
        {
            if (!Guid.TryParse(reference.Id, out var id)) throw HostErrors.Invalid("adapter.id", $"'{reference.Id}' is not a GUID");
            return vm.Config.NetworkAdapters.Find(a => a.Id == id) ?? throw HostErrors.NotFound($"VM '{vm.Name}' has no network adapter with id {reference.Id}");
        }
        if (reference.Name.Length == 0) throw HostErrors.Invalid("adapter", "name the network adapter by id or name");
        return vm.Config.NetworkAdapters.Find(a => string.Equals(a.Name, reference.Name, StringComparison.OrdinalIgnoreCase))
            ?? throw HostErrors.NotFound($"VM '{vm.Name}' has no network adapter named '{reference.Name}'");
    }

    private HostSwitch SwitchNamed(string parameter, string name) =>
        switches.FindByName(name) ?? throw HostErrors.NotFound($"{parameter}: no switch named '{name}' on this host");

    /// <summary>Adapter names are unique within a VM: the guest tells them apart by their slot labels.</summary>
    private static void EnsureAdapterNameFree(ManagedVm vm, string name, NetworkAdapterSettings? renamed)
    {
        if (vm.Config.NetworkAdapters.Find(a => a != renamed && string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase)) is { } other)
            throw HostErrors.AlreadyExists($"VM '{vm.Name}' already has a network adapter named '{other.Name}'");
    }

    /// <summary>A dynamic address from the pool, or the static one if no other adapter on this host holds it — decided in one step, whatever runs at the same time.</summary>
    private MacAddress TakeMac(MacAddress? staticMac, string parameter, MacAddressRegistry.Holder holder)
    {
        if (staticMac is not { } mac)
        {
            try { return _macs.Allocate(holder); }
            catch (InvalidOperationException e) { throw HostErrors.Precondition(e.Message); }
        }
        if (_macs.Claim(mac, holder) is { } user)
            throw HostErrors.Invalid(parameter, $"{NetworkRequests.Hex(mac)} is the address of {user.Description}; MAC addresses are unique on a host");
        return mac;
    }

    private static string Describe(ManagedVm vm, string adapter) => $"adapter '{adapter}' of VM '{vm.Name}'";

    /// <summary>Every adapter's address, held in the registry, once the inventory is read.</summary>
    public void CreateMacPool()
    {
        var inUse = vms.List(null).SelectMany(vm => vm.Config.NetworkAdapters.Select(a => (MacAddress.Parse(a.MacAddress), new MacAddressRegistry.Holder(a.Id, Describe(vm, a.Name)))));
        _macs = new MacAddressRegistry(switches.CreatePool([]), inUse, log);
    }

    /// <summary>
    /// Import-VM: an imported VM's adapters hold their addresses on this host — each static one claimed (refused when
    /// another adapter has it), each dynamic one kept, or with <paramref name="fresh"/> (-GenerateNewId) a new adapter ID
    /// and a new address from the pool. All or none: a failure gives back what was taken.
    /// </summary>
    public List<NetworkAdapterSettings> TakeImportedAddresses(string vmName, IReadOnlyList<NetworkAdapterSettings> adapters, bool fresh)
    {
        var taken = new List<NetworkAdapterSettings>();
        try
        {
            foreach (var adapter in adapters)
            {
                var id = fresh ? Guid.NewGuid() : adapter.Id;
                var holder = new MacAddressRegistry.Holder(id, $"adapter '{adapter.Name}' of VM '{vmName}'");
                MacAddress? keep = fresh && adapter.DynamicMacAddress ? null : MacAddress.Parse(adapter.MacAddress);
                var mac = TakeMac(keep, $"network adapter '{adapter.Name}'", holder);
                taken.Add(adapter with { Id = id, MacAddress = NetworkRequests.Hex(mac) });
            }
            return taken;
        }
        catch
        {
            ReleaseAddresses(taken);
            throw;
        }
    }

    /// <summary>Gives back the addresses <see cref="TakeImportedAddresses"/> took, for an import that failed after.</summary>
    public void ReleaseAddresses(IEnumerable<NetworkAdapterSettings> adapters)
    {
        foreach (var adapter in adapters) _macs.Release(MacAddress.Parse(adapter.MacAddress), adapter.Id);
    }

    /// <summary>Connected adapters of every VM, per switch (Get-VMSwitch's count).</summary>
    public int AdaptersOn(Guid switchId) => vms.List(null).Sum(vm => vm.Config.NetworkAdapters.Count(a => a.SwitchId == switchId));


    /// <summary>Whether the VM has a worker that takes adapter changes now.</summary>
    private static bool IsLive(ManagedVm vm) => vm.WorkerPid > 0 && vm.State is PowerState.Running or PowerState.Paused;

    private async Task AddLiveAsync(ManagedVm vm, NetworkAdapterSettings adapter, HostSwitch? target, CancellationToken cancellationToken)
    {
        using var workerEnd = target is { Running: not null } ? switches.Attach(adapter.Id, target, NetworkProjection.Port(adapter)) : null;
        var request = new WorkerRequest
        {
            Op = WorkerOps.AddNic, Adapter = adapter.Id, Label = adapter.GuestLabel(), Mac = adapter.MacAddress, Descriptor = workerEnd is not null,
        };
        await AskAdapterAsync(vm, request, workerEnd?.Descriptor, cancellationToken).ConfigureAwait(false);
    }

    private async Task UpdateLiveAsync(ManagedVm vm, NetworkAdapterSettings current, NetworkAdapterSettings updated, HostSwitch? target, bool switchChanged, CancellationToken cancellationToken)
    {
        if (updated.GuestLabel() != current.GuestLabel())
            await AskAdapterAsync(vm, new WorkerRequest { Op = WorkerOps.LabelNic, Adapter = updated.Id, Label = updated.GuestLabel() }, null, cancellationToken).ConfigureAwait(false);
        if (switchChanged)
        {
            if (target is null)
            {
                switches.Detach(updated.Id);
                await AskAdapterAsync(vm, new WorkerRequest { Op = WorkerOps.DisconnectNic, Adapter = updated.Id }, null, cancellationToken).ConfigureAwait(false);
            }
            else await ConnectLiveAsync(vm, updated, target, cancellationToken).ConfigureAwait(false);
        }
        else switches.UpdatePort(updated.Id, NetworkProjection.Port(updated)); // policies and VLAN take effect on the next frame
    }

    /// <summary>Gives the adapter a new port on <paramref name="target"/> and plugs the worker's device into it.</summary>
    private async Task ConnectLiveAsync(ManagedVm vm, NetworkAdapterSettings adapter, HostSwitch target, CancellationToken cancellationToken)
    {
        using var workerEnd = switches.Attach(adapter.Id, target, NetworkProjection.Port(adapter));
        try
        {
            var request = new WorkerRequest { Op = WorkerOps.ConnectNic, Adapter = adapter.Id, Descriptor = true };
            await AskAdapterAsync(vm, request, workerEnd.Descriptor, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            switches.Detach(adapter.Id);
            throw;
        }
    }

    /// <summary>An adapter request to the worker, with the port descriptor when there is one; keeps the reported slots.</summary>
    private async Task AskAdapterAsync(ManagedVm vm, WorkerRequest request, int? descriptor, CancellationToken cancellationToken)
    {
        try { vm.Adapters = (await lifecycle.Workers.SendAsync(vm, request, cancellationToken, descriptor).ConfigureAwait(false)).Adapters; }
        catch (WorkerException e) { throw HostErrors.Precondition($"VM '{vm.Name}': {e.Message}"); }
    }

    /// <summary>The switches whose names match <paramref name="nameFilter"/> (null or empty: all), of <paramref name="type"/> (Unspecified: any).</summary>
    public List<VmSwitch> ListSwitches(string? nameFilter, Api.V1.SwitchType type) => [.. switches.List()
        .Where(s => string.IsNullOrEmpty(nameFilter) || Wildcard.Matches(nameFilter, s.Name))
        .Where(s => type == Api.V1.SwitchType.Unspecified || NetworkProjection.Type(s.Config.Type) == type)
        .Select(Project)];

    public VmSwitch GetSwitch(HostSwitch target) => Project(target);

    public VmSwitch CreateSwitch(NewSwitch spec) => Project(switches.Create(NetworkRequests.Switch(spec)));

    public VmSwitch UpdateSwitch(HostSwitch target, SwitchChange change)
    {
        string? name = change.NewName is { } newName ? RequestValidation.Name("new_name", newName, "switch") : null;
        string? notes = change.Notes is { } newNotes ? RequestValidation.Notes("notes", newNotes) : null;
        return Project(switches.Update(target, name, notes));
    }

    /// <summary>
    /// Remove-VMSwitch: the switch stops (its TAP or uplink goes), and every adapter on it stays on its VM, disconnected —
    /// a running guest sees its link go down. VMs busy with another request are waited for, not refused.
    /// </summary>
    public async Task RemoveSwitchAsync(HostSwitch target, CancellationToken cancellationToken)
    {
        switches.Remove(target);
        foreach (var vm in vms.List(null).Where(vm => vm.Config.NetworkAdapters.Exists(a => a.SwitchId == target.Id)))
        {
            using (await vm.WaitForOperationAsync("disconnecting adapters of", cancellationToken).ConfigureAwait(false))
            {
                if (vm.Removed || vm.Damage is not null) continue; // a damaged folder is not written to
                var affected = vm.Config.NetworkAdapters.Where(a => a.SwitchId == target.Id).ToList();
                if (IsLive(vm))
                    foreach (var adapter in affected)
                    {
                        try { await AskAdapterAsync(vm, new WorkerRequest { Op = WorkerOps.DisconnectNic, Adapter = adapter.Id }, null, cancellationToken).ConfigureAwait(false); }
                        catch (HostException e) { log($"VM '{vm.Name}': adapter '{adapter.Name}' did not take the disconnect: {e.Message}"); }
                    }
                configuration.Commit(vm, vm.Config with { NetworkAdapters = [.. vm.Config.NetworkAdapters.Select(a => a.SwitchId == target.Id ? a with { SwitchId = null } : a)] });
            }
        }
    }

    private VmSwitch Project(HostSwitch s) => NetworkProjection.Switch(s, AdaptersOn(s.Id));

    /// <summary>A removed VM's addresses go back to the pool.</summary>
    public void ReleaseMacs(ManagedVm vm)
    {
        foreach (var adapter in vm.Config.NetworkAdapters) _macs.Release(MacAddress.Parse(adapter.MacAddress), adapter.Id);
    }
}
