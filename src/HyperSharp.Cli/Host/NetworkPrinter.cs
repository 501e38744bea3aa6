using HyperSharp.Api.V1;

namespace HyperSharp.Cli.Host;

/// <summary>Switches and network adapters as text: Get-VMSwitch's and Get-VMNetworkAdapter's tables, one field a line for one switch.</summary>
internal static class NetworkPrinter
{
    public static void Switches(TextWriter o, IEnumerable<VmSwitch> switches)
    {
        o.WriteLine($"{"Name",-24} {"SwitchType",-10} {"NetAdapterInterfaceDescription",-30} Adapters");
        o.WriteLine($"{"----",-24} {"----------",-10} {"------------------------------",-30} --------");
        foreach (var s in switches) o.WriteLine($"{s.Name,-24} {TypeName(s.SwitchType),-10} {Interface(s),-30} {s.ConnectedAdapterCount}");
    }

    public static void SwitchDetails(TextWriter o, VmSwitch s)
    {
        o.WriteLine($"Name:                 {s.Name}");
        o.WriteLine($"Id:                   {s.Id}");
        o.WriteLine($"Switch type:          {TypeName(s.SwitchType)}");
        if (s.NetAdapterName.Length > 0) o.WriteLine($"Bridged to:           {s.NetAdapterName}");
        if (s.HostInterfaceName.Length > 0) o.WriteLine($"Host interface:       {s.HostInterfaceName}");
        o.WriteLine($"Connected adapters:   {s.ConnectedAdapterCount}");
        o.WriteLine($"Frames forwarded:     {s.FramesForwarded}");
        o.WriteLine($"Frames dropped:       {s.FramesDropped}");
        if (s.Notes.Length > 0) o.WriteLine($"Notes:                {s.Notes}");
    }

    public static void Adapters(TextWriter o, IEnumerable<NetworkAdapter> adapters)
    {
        o.WriteLine($"{"Name",-20} {"VMName",-16} {"SwitchName",-16} {"MacAddress",-12} {"Vlan",4} {"Slot",4} {"DeviceNaming",-12} Status");
        o.WriteLine($"{"----",-20} {"------",-16} {"----------",-16} {"----------",-12} {"----",4} {"----",4} {"------------",-12} ------");
        foreach (var a in adapters)
            o.WriteLine($"{a.Name,-20} {a.VmName,-16} {a.SwitchName,-16} {a.MacAddress,-12} {a.AccessVlanId,4} {(a.PciSlot < 0 ? "" : a.PciSlot.ToString(System.Globalization.CultureInfo.InvariantCulture)),4} {(a.DeviceNaming == OnOffState.On ? "On" : "Off"),-12} {a.Status}"
                + (a.IpAddresses.Count > 0 ? $" [{string.Join(", ", a.IpAddresses)}]" : ""));
    }

    public static string TypeName(SwitchType type) => type switch
    {
        SwitchType.Private => "Private",
        SwitchType.Internal => "Internal",
        SwitchType.External => "External",
        _ => "Unknown",
    };

    private static string Interface(VmSwitch s) => s.NetAdapterName.Length > 0 ? s.NetAdapterName : s.HostInterfaceName;
}
