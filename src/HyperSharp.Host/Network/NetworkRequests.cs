using System.Text;
using HyperSharp.Api.V1;
using HyperSharp.Host.Service;
using HyperSharp.Host.Service.Domain;
using HyperSharp.Networking.Configuration;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Interop;
using HyperSharp.Networking.Switching;

namespace HyperSharp.Host.Network;

/// <summary>
/// The allowed values of switch and network adapter requests, checked before anything changes; each failure is an
/// INVALID_ARGUMENT naming the proto field and what is allowed (see <see cref="RequestValidation"/>).
/// </summary>
public static class NetworkRequests
{
    public const int MaxAdaptersPerVm = 68;          // Hyper-V's limit per VM (the machine's VmHotplug.MaxNetworkAdapters; its PCI bridges make room)
    public const int MaxVlanId = 4094;
    public const string DefaultAdapterName = "Network Adapter";
    private const int MaxLabelBytes = 255;             // what a PCI slot label holds (the guest reads the name there)

    /// <summary>New-VMSwitch's parameters as the switch's configuration (the TAP name fixed now, so a rename keeps it).</summary>
    public static SwitchConfiguration Switch(NewSwitch spec)
    {
        string name = RequestValidation.Name("name", spec.Name, "switch");
        string notes = RequestValidation.Notes("notes", spec.Notes);
        var type = spec.SwitchType switch
        {
            Api.V1.SwitchType.Unspecified => spec.NetAdapterName.Length > 0 ? Networking.Switching.SwitchType.External : Networking.Switching.SwitchType.Private,
            Api.V1.SwitchType.Private => Networking.Switching.SwitchType.Private,
            Api.V1.SwitchType.Internal => Networking.Switching.SwitchType.Internal,
            Api.V1.SwitchType.External => Networking.Switching.SwitchType.External,
            _ => throw HostErrors.Invalid("switch_type", $"{spec.SwitchType}: Private, Internal or External is allowed"),
        };
        if (type != Networking.Switching.SwitchType.External && spec.NetAdapterName.Length > 0)
            throw HostErrors.Invalid("net_adapter_name", $"only an External switch is bridged to a host adapter; '{name}' is {type}");
        if (type == Networking.Switching.SwitchType.External && spec.NetAdapterName.Length == 0)
            throw HostErrors.Invalid("net_adapter_name", "an External switch needs the host adapter to bridge to");
        if (type != Networking.Switching.SwitchType.Internal && spec.HostInterfaceName.Length > 0)
            throw HostErrors.Invalid("host_interface_name", $"only an Internal switch has a host interface; '{name}' is {type}");
        string? tap = type == Networking.Switching.SwitchType.Internal
            ? InterfaceName("host_interface_name", spec.HostInterfaceName.Length > 0 ? spec.HostInterfaceName : HostedSwitch.DefaultTapName(name)) : null;
        string? uplink = type == Networking.Switching.SwitchType.External ? InterfaceName("net_adapter_name", spec.NetAdapterName) : null;
        return new SwitchConfiguration { Name = name, Type = type, HostInterfaceName = tap, NetAdapterName = uplink, Notes = notes };
    }

    private static string InterfaceName(string parameter, string name)
    {
        try { Networking.Interop.InterfaceName.Validate(name); }
        catch (ArgumentException e) { throw HostErrors.Invalid(parameter, e.Message.Replace(" (Parameter 'name')", "")); }
        return name;
    }

    /// <summary>An adapter's name: a name as for VMs, that also fits the PCI slot label the guest reads it from.</summary>
    public static string AdapterName(string parameter, string? name)
    {
        RequestValidation.Name(parameter, name, "network adapter");
        int bytes = Encoding.UTF8.GetByteCount(name!);
        return bytes <= MaxLabelBytes ? name! : throw HostErrors.Invalid(parameter, $"'{name}' is {bytes} bytes of UTF-8; the guest's slot label holds at most {MaxLabelBytes}");
    }

    /// <summary>A static MAC address: six octets in any usual form, unicast and not all zeros.</summary>
    public static MacAddress StaticMac(string parameter, string text)
    {
        MacAddress mac;
        try { mac = MacAddress.Parse(text); }
        catch (FormatException e) { throw HostErrors.Invalid(parameter, e.Message); }
        if (mac.IsMulticast) throw HostErrors.Invalid(parameter, $"{Hex(mac)} is a multicast address (the first octet is odd); an adapter needs a unicast MAC");
        if (mac.Value == 0) throw HostErrors.Invalid(parameter, "000000000000 is not an adapter's address");
        return mac;
    }

    public static int Vlan(string parameter, int vlan) => RequestValidation.Range(parameter, vlan, 0, MaxVlanId, "the access VLAN (0 for untagged)");

    public static long Bandwidth(string parameter, long bitsPerSecond) => bitsPerSecond >= 0 ? bitsPerSecond
        : throw HostErrors.Invalid(parameter, $"{bitsPerSecond}: the maximum bandwidth is 0 (unlimited) or more bits per second");

    public static bool OnOff(string parameter, OnOffState state) => state switch
    {
        OnOffState.On => true,
        OnOffState.Off => false,
        _ => throw HostErrors.Invalid(parameter, $"{state}: On or Off is allowed"),
    };

    /// <summary>Hyper-V prints MAC addresses as 12 hex digits without separators.</summary>
    public static string Hex(MacAddress mac) => mac.ToString().Replace("-", "");
}
