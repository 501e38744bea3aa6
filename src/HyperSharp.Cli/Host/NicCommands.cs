using System.CommandLine;
using HyperSharp.Api.V1;

namespace HyperSharp.Cli.Host;

/// <summary>
/// `hyper vm nic list|add|set|remove`: Get-/Add-/Set-/Rename-/Remove-VMNetworkAdapter, Connect-/Disconnect-VMNetworkAdapter
/// and Set-VMNetworkAdapterVlan. Every change also works while the VM runs (PCI hotplug, live port policies).
/// </summary>
internal static class NicCommands
{
    public static Command Create(CliContext context)
    {
        var nic = new Command("nic", "A VM's network adapters");
        nic.Subcommands.Add(List(context));
        nic.Subcommands.Add(Add(context));
        nic.Subcommands.Add(Set(context));
        nic.Subcommands.Add(Remove(context));
        return nic;
    }

    private static Argument<string> AdapterArgument() => new("adapter") { Description = "The adapter's name or id" };

    private static NetworkAdapterRef Ref(string vm, string adapter) => Guid.TryParse(adapter, out _)
        ? new NetworkAdapterRef { Vm = HostClient.Ref(vm), Id = adapter } : new NetworkAdapterRef { Vm = HostClient.Ref(vm), Name = adapter };

    private static Command List(CliContext context)
    {
        var name = new Argument<string?>("name") { Description = "The VM's name or id (default: every VM)", Arity = ArgumentArity.ZeroOrOne };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("list", "Network adapters of a VM or of every VM (Get-VMNetworkAdapter)") { name, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var request = new ListNetworkAdaptersRequest();
            if (result.GetValue(name) is string vm) request.Vm = HostClient.Ref(vm);
            var response = await client.Networking.ListNetworkAdaptersAsync(request).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(response));
            else NetworkPrinter.Adapters(context.Out, response.Adapters);
            return 0;
        }));
        return command;
    }

    private static Command Add(CliContext context)
    {
        var vm = ManagedVmCommands.NameArgument();
        var name = new Option<string?>("--name") { Description = "The adapter's name (default \"Network Adapter\")" };
        var target = new Option<string?>("--switch") { Description = "Connect it to this switch (default: not connected)" };
        var mac = new Option<string?>("--static-mac") { Description = "A static MAC address (default: the next one from the host's pool)" };
        var naming = DeviceNamingOption();
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("add", "Add a network adapter, hot-plugged when the VM runs (Add-VMNetworkAdapter)") { vm, name, target, mac, naming, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var added = await client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest
            {
                Vm = HostClient.Ref(result.GetValue(vm)!), Name = result.GetValue(name) ?? "", SwitchName = result.GetValue(target) ?? "",
                StaticMacAddress = result.GetValue(mac) ?? "", DeviceNaming = OnOff(result.GetValue(naming), "--device-naming") ?? OnOffState.Unspecified,
            }).ResponseAsync.ConfigureAwait(false);
            Print(context, added, result.GetValue(json));
            return 0;
        }));
        return command;
    }

    private static Command Set(CliContext context)
    {
        var vm = ManagedVmCommands.NameArgument();
        var adapter = AdapterArgument();
        var newName = new Option<string?>("--new-name") { Description = "Rename it (Rename-VMNetworkAdapter); with device naming on, a running guest reads the new slot label" };
        var target = new Option<string?>("--switch") { Description = "Connect it to this switch (Connect-VMNetworkAdapter)" };
        var disconnect = new Option<bool>("--disconnect") { Description = "Disconnect it from its switch (Disconnect-VMNetworkAdapter)" };
        var spoofing = OnOffOption("--mac-spoofing", "Allow frames from other source MACs");
        var dhcpGuard = OnOffOption("--dhcp-guard", "Drop DHCP server messages the VM sends");
        var routerGuard = OnOffOption("--router-guard", "Drop router advertisements and redirects the VM sends");
        var bandwidth = new Option<long?>("--maximum-bandwidth") { Description = "Most bits per second the VM may send; 0 is unlimited" };
        var vlan = new Option<int?>("--vlan") { Description = "Access VLAN 1-4094 (Set-VMNetworkAdapterVlan -Access -VlanId); 0 untagged" };
        var mac = new Option<string?>("--static-mac") { Description = "A static MAC address (VM off only)" };
        var dynamicMac = new Option<bool>("--dynamic-mac") { Description = "Back to an address from the host's pool (VM off only)" };
        var naming = DeviceNamingOption();
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("set", "Change a network adapter, live while the VM runs (Set-VMNetworkAdapter)")
            { vm, adapter, newName, target, disconnect, spoofing, dhcpGuard, routerGuard, bandwidth, vlan, mac, dynamicMac, naming, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var request = new UpdateNetworkAdapterRequest { Adapter = Ref(result.GetValue(vm)!, result.GetValue(adapter)!) };
            if (result.GetValue(newName) is string n) request.NewName = n;
            if (result.GetValue(target) is not null && result.GetValue(disconnect)) throw new UsageException("give --switch or --disconnect, not both");
            if (result.GetValue(target) is string connectTo) request.SwitchName = connectTo;
            if (result.GetValue(disconnect)) request.SwitchName = "";
            if (OnOff(result.GetValue(spoofing), "--mac-spoofing") is { } sp) request.MacAddressSpoofing = sp;
            if (OnOff(result.GetValue(dhcpGuard), "--dhcp-guard") is { } dg) request.DhcpGuard = dg;
            if (OnOff(result.GetValue(routerGuard), "--router-guard") is { } rg) request.RouterGuard = rg;
            if (result.GetValue(bandwidth) is long b) request.MaximumBandwidth = b;
            if (result.GetValue(vlan) is int v) request.AccessVlanId = v;
            if (result.GetValue(mac) is not null && result.GetValue(dynamicMac)) throw new UsageException("give --static-mac or --dynamic-mac, not both");
            if (result.GetValue(mac) is string staticMac) request.StaticMacAddress = staticMac;
            if (result.GetValue(dynamicMac)) request.StaticMacAddress = "";
            if (OnOff(result.GetValue(naming), "--device-naming") is { } dn) request.DeviceNaming = dn;
            var updated = await client.Networking.UpdateNetworkAdapterAsync(request).ResponseAsync.ConfigureAwait(false);
            Print(context, updated, result.GetValue(json));
            return 0;
        }));
        return command;
    }

    private static Command Remove(CliContext context)
    {
        var vm = ManagedVmCommands.NameArgument();
        var adapter = AdapterArgument();
        var socket = HostClient.SocketOption();
        var command = new Command("remove", "Remove a network adapter; a running guest ejects it first (Remove-VMNetworkAdapter)") { vm, adapter, socket };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            await client.Networking.RemoveNetworkAdapterAsync(Ref(result.GetValue(vm)!, result.GetValue(adapter)!)).ResponseAsync.ConfigureAwait(false);
            context.Out.WriteLine($"{result.GetValue(vm)}: network adapter {result.GetValue(adapter)} removed");
            return 0;
        }));
        return command;
    }

    private static Option<string?> OnOffOption(string name, string what) => new(name) { Description = $"{what}: on or off" };

    private static Option<string?> DeviceNamingOption() =>
        OnOffOption("--device-naming", "Show the adapter's name to the guest as its PCI slot label (Linux: /sys/class/net/IF/device/label); off by default, as in Hyper-V");

    private static OnOffState? OnOff(string? text, string option) => text?.ToLowerInvariant() switch
    {
        null => null,
        "on" => OnOffState.On,
        "off" => OnOffState.Off,
        _ => throw new UsageException($"{option} {text}: on or off"),
    };

    private static void Print(CliContext context, NetworkAdapter a, bool json) => context.Out.WriteLine(json ? HostClient.ToJson(a)
        : $"{a.VmName}: {a.Name}: {a.MacAddress} {(a.SwitchName.Length > 0 ? "on " + a.SwitchName : "not connected")}{(a.AccessVlanId > 0 ? $" (VLAN {a.AccessVlanId})" : "")}{(a.DeviceNaming == OnOffState.On ? ", device naming on" : "")}");
}
