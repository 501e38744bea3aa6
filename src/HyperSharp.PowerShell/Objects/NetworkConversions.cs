using V1 = HyperSharp.Api.V1;

namespace HyperSharp.PowerShell;

/// <summary>The API's switch and network adapter messages to the cmdlets' objects, and their enums back.</summary>
internal static class NetworkConversions
{
    public static VMSwitch ToObject(this V1.VmSwitch s, string computerName) => new()
    {
        ComputerName = computerName,
        Name = s.Name,
        Id = ApiConversions.ParseId(s.Id),
        Notes = s.Notes,
        SwitchType = s.SwitchType switch
        {
            V1.SwitchType.Internal => VMSwitchType.Internal,
            V1.SwitchType.External => VMSwitchType.External,
            _ => VMSwitchType.Private,
        },
        NetAdapterInterfaceDescription = s.NetAdapterName.Length == 0 ? null : s.NetAdapterName,
        HostInterfaceName = s.HostInterfaceName,
        ConnectedAdapterCount = s.ConnectedAdapterCount,
        FramesForwarded = s.FramesForwarded,
        FramesDropped = s.FramesDropped,
    };

    public static VMNetworkAdapter ToObject(this V1.NetworkAdapter a, string computerName) => new()
    {
        ComputerName = computerName,
        Name = a.Name,
        Id = a.Id,
        VMName = a.VmName,
        VMId = ApiConversions.ParseId(a.VmId),
        SwitchName = a.SwitchName,
        SwitchId = Guid.TryParse(a.SwitchId, out var switchId) ? switchId : null,
        Connected = a.Connected,
        MacAddress = a.MacAddress,
        DynamicMacAddressEnabled = a.DynamicMacAddress,
        MacAddressSpoofing = a.MacAddressSpoofing.ToObject(),
        DhcpGuard = a.DhcpGuard.ToObject(),
        RouterGuard = a.RouterGuard.ToObject(),
        DeviceNaming = a.DeviceNaming.ToObject(),
        BandwidthSetting = new VMNetworkAdapterBandwidthSetting { MaximumBandwidth = a.MaximumBandwidth },
        VlanSetting = a.ToVlanSetting(computerName),
        Status = [a.Status],
        IPAddresses = [.. a.IpAddresses],
        PciSlot = a.PciSlot,
    };

    public static VMNetworkAdapterVlanSetting ToVlanSetting(this V1.NetworkAdapter a, string computerName) => new()
    {
        ComputerName = computerName,
        VMName = a.VmName,
        VMId = ApiConversions.ParseId(a.VmId),
        VMNetworkAdapterName = a.Name,
        AdapterId = a.Id,
        OperationMode = a.AccessVlanId == 0 ? VMNetworkAdapterVlanMode.Untagged : VMNetworkAdapterVlanMode.Access,
        AccessVlanId = a.AccessVlanId,
    };

    /// <summary>Unspecified reads as Off: every policy is off until set.</summary>
    private static OnOffState ToObject(this V1.OnOffState s) => s == V1.OnOffState.On ? OnOffState.On : OnOffState.Off;

    public static V1.OnOffState ToApi(this OnOffState s) => s == OnOffState.On ? V1.OnOffState.On : V1.OnOffState.Off;

    public static V1.SwitchType ToApi(this VMSwitchType t) => t switch
    {
        VMSwitchType.Internal => V1.SwitchType.Internal,
        VMSwitchType.External => V1.SwitchType.External,
        _ => V1.SwitchType.Private,
    };
}
