using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using HyperSharp.Host.Service;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Switching;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Network;

/// <summary>Switches and network adapters as the API shows them (Get-VMSwitch's and Get-VMNetworkAdapter's objects).</summary>
public static class NetworkProjection
{
    public static VmSwitch Switch(HostSwitch s, int connectedAdapters)
    {
        var (forwarded, dropped) = s.Counters();
        return new VmSwitch
        {
            Id = s.Id.ToString("D"), Name = s.Name, SwitchType = Type(s.Config.Type), NetAdapterName = s.Config.NetAdapterName ?? "",
            HostInterfaceName = s.Config.HostInterfaceName ?? "", Notes = s.Config.Notes, ConnectedAdapterCount = connectedAdapters,
            FramesForwarded = forwarded, FramesDropped = dropped,
        };
    }

    public static Api.V1.SwitchType Type(Networking.Switching.SwitchType type) => type switch
    {
        Networking.Switching.SwitchType.Private => Api.V1.SwitchType.Private,
        Networking.Switching.SwitchType.Internal => Api.V1.SwitchType.Internal,
        _ => Api.V1.SwitchType.External,
    };

    public static NetworkAdapter Adapter(ManagedVm vm, NetworkAdapterSettings a, SwitchManager switches)
    {
        var target = a.SwitchId is { } id ? switches.FindById(id) : null;
        bool running = vm.WorkerPid > 0 && vm.State is PowerState.Running or PowerState.Paused;
        bool attached = switches.IsAttached(a.Id);
        var live = running ? vm.Adapters.FirstOrDefault(s => s.Id == a.Id) : null;
        return new NetworkAdapter
        {
            IpAddresses = { IntegrationProjection.Addresses(vm, a.MacAddress) },
            Id = a.Id.ToString("D"), VmId = vm.Id.ToString("D"), VmName = vm.Name, Name = a.Name,
            SwitchName = target?.Name ?? "", SwitchId = target?.Id.ToString("D") ?? "",
            MacAddress = a.MacAddress, DynamicMacAddress = a.DynamicMacAddress,
            MacAddressSpoofing = OnOff(a.MacAddressSpoofing), DhcpGuard = OnOff(a.DhcpGuard), RouterGuard = OnOff(a.RouterGuard),
            MaximumBandwidth = a.MaximumBandwidth, AccessVlanId = a.AccessVlanId, DeviceNaming = OnOff(a.NamesDevice()),
            Connected = attached, PciSlot = live?.Slot ?? -1,
            Status = target is null ? "Disconnected"
                : target.Running is null ? $"Switch '{target.Name}' is not running: {target.Failure}"
                : running && !attached ? $"Not connected to a port of switch '{target.Name}'"
                : "Ok",
        };
    }

    /// <summary>The port policies an adapter's settings ask for.</summary>
    public static PortSettings Port(NetworkAdapterSettings a) => new()
    {
        MacAddress = MacAddress.Parse(a.MacAddress), MacAddressSpoofing = a.MacAddressSpoofing, DhcpGuard = a.DhcpGuard,
        RouterGuard = a.RouterGuard, VlanId = (ushort)a.AccessVlanId, MaximumBandwidth = a.MaximumBandwidth,
    };

    private static OnOffState OnOff(bool on) => on ? OnOffState.On : OnOffState.Off;
}
