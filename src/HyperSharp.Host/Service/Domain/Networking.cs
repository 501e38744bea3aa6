using HyperSharp.Api.V1;

namespace HyperSharp.Host.Service.Domain;

/// <summary>
/// A VM's network adapter as a request names it, by id (text, checked when it is looked up) or else by name.
/// </summary>
public sealed record AdapterRef(string Id, string Name);

/// <summary>
/// Add-VMNetworkAdapter's adapter, not yet checked (<see cref="VmNetworking.AddAdapterAsync"/> checks it): null means not
/// given — the default name, no switch, a dynamic MAC address from the pool, device naming Off.
/// </summary>
public sealed record NewNetworkAdapter(string? Name, string? SwitchName, string? StaticMacAddress, OnOffState? DeviceNaming = null);

/// <summary>
/// Set-/Rename-/Connect-/Disconnect-VMNetworkAdapter's changes, not yet checked (<see cref="VmNetworking.UpdateAdapterAsync"/>
/// checks them): each null when it is not to change. An empty <see cref="SwitchName"/> disconnects the adapter, an
/// empty <see cref="StaticMacAddress"/> gives it a dynamic address again.
/// </summary>
public sealed record NetworkAdapterChange
{
    public string? NewName { get; init; }
    public string? SwitchName { get; init; }
    public string? StaticMacAddress { get; init; }
    public OnOffState? MacAddressSpoofing { get; init; }
    public OnOffState? DhcpGuard { get; init; }
    public OnOffState? RouterGuard { get; init; }
    public long? MaximumBandwidth { get; init; }
    public int? AccessVlanId { get; init; }
    public OnOffState? DeviceNaming { get; init; }
}

/// <summary>New-VMSwitch's switch, not yet checked (<see cref="Network.NetworkRequests.Switch"/> checks it); empty names are not given.</summary>
public sealed record NewSwitch(string Name, SwitchType SwitchType, string NetAdapterName, string HostInterfaceName, string Notes);

/// <summary>Set-/Rename-VMSwitch's changes: each null when it is not to change.</summary>
public sealed record SwitchChange(string? NewName, string? Notes);
