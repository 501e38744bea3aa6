using System.Text.Json.Nodes;
using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Links;
using HyperSharp.Networking.Switching;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Network adapters through the API on an in-process host: stored in the VM's configuration (MACs from the host's pool
/// or static, unique on the host), validated, kept across a host restart, and — on a running VM — each given a switch
/// port whose other end the worker holds, with policy changes applied to the live port and the port freed when the
/// worker dies. Private switches only: nothing touches the machine's interfaces.
/// </summary>
public class NetworkAdapterApiTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AdaptersAreStoredValidatedAndKeptAcrossAHostRestart()
    {
        await using var host = await HostFixture.StartAsync(output);
        await host.CreateAsync("vm", host.Guest("idle.elf", TestGuests.Idle()));
        await host.Client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "lab" });
        var vm = new VmRef { Name = "vm" };

        var first = await host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, SwitchName = "lab" });
        Assert.Equal(("Network Adapter", "lab", true, -1), (first.Name, first.SwitchName, first.DynamicMacAddress, first.PciSlot));
        Assert.Matches("^0A4853[0-9A-F]{6}$", first.MacAddress);
        var second = await host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, Name = "backup", StaticMacAddress = "02-00-00-00-00-42" });
        Assert.Equal(("020000000042", false, "", "Disconnected"), (second.MacAddress, second.DynamicMacAddress, second.SwitchName, second.Status));

        await ValidationTests.Invalid("static_mac_address", "unique on a host", () => host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, Name = "c", StaticMacAddress = "020000000042" }).ResponseAsync);
        await ValidationTests.Invalid("static_mac_address", "multicast", () => host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, Name = "c", StaticMacAddress = "01-00-5E-00-00-01" }).ResponseAsync);
        await ValidationTests.Invalid("static_mac_address", "not a MAC address", () => host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, Name = "c", StaticMacAddress = "zz" }).ResponseAsync);
        var backup = new NetworkAdapterRef { Vm = vm, Name = "backup" };
        await ValidationTests.Invalid("access_vlan_id", "0 to 4094", () => host.Client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = backup, AccessVlanId = 4095 }).ResponseAsync);
        await ValidationTests.Invalid("maximum_bandwidth", "0 (unlimited) or more", () => host.Client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = backup, MaximumBandwidth = -1 }).ResponseAsync);
        await ValidationTests.Invalid("dhcp_guard", "On or Off", () => host.Client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = backup, DhcpGuard = OnOffState.Unspecified }).ResponseAsync);
        await ValidationTests.Invalid("new_name", "may not have", () => host.Client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = backup, NewName = "a\u0001" }).ResponseAsync);
        var taken = await Assert.ThrowsAsync<RpcException>(() => host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, Name = "BACKUP" }).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, taken.StatusCode);
        var noSwitch = await Assert.ThrowsAsync<RpcException>(() => host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, Name = "c", SwitchName = "nowhere" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, noSwitch.StatusCode);

        var set = await host.Client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest
        {
            Adapter = backup, NewName = "storage", SwitchName = "lab", DhcpGuard = OnOffState.On, RouterGuard = OnOffState.On,
            MacAddressSpoofing = OnOffState.On, MaximumBandwidth = 100_000_000, AccessVlanId = 12, StaticMacAddress = "",
        });
        Assert.Equal(("storage", "lab", OnOffState.On, OnOffState.On, OnOffState.On, 100_000_000L, 12, true),
            (set.Name, set.SwitchName, set.DhcpGuard, set.RouterGuard, set.MacAddressSpoofing, set.MaximumBandwidth, set.AccessVlanId, set.DynamicMacAddress));
        Assert.NotEqual(first.MacAddress, set.MacAddress); // a fresh address from the pool, unique on the host
        Assert.Equal(2, (await host.Client.Networking.GetSwitchAsync(new SwitchRef { Name = "lab" })).ConnectedAdapterCount);

        var same = await host.Client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = new NetworkAdapterRef { Vm = vm, Name = "Network Adapter" }, StaticMacAddress = first.MacAddress });
        Assert.Equal((first.MacAddress, false), (same.MacAddress, same.DynamicMacAddress)); // its own address, now static
        first = same;

        await host.StopHostAsync();
        await host.StartHostAsync();
        var kept = (await host.Client.GetVmAsync(vm)).NetworkAdapters;
        Assert.Equal([(first.Id, first.MacAddress, "lab"), (set.Id, set.MacAddress, "lab")], kept.Select(a => (a.Id, a.MacAddress, a.SwitchName)));
        Assert.Equal(12, kept[1].AccessVlanId);
        // The pool knows the addresses in use after the restart: a new adapter gets a third one.
        var third = await host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, Name = "third" });
        Assert.DoesNotContain(third.MacAddress, kept.Select(a => a.MacAddress));

        // Removing the switch leaves the adapters on the VM, disconnected.
        await host.Client.Networking.RemoveSwitchAsync(new RemoveSwitchRequest { Switch = new SwitchRef { Name = "lab" } });
        var disconnected = (await host.Client.Networking.ListNetworkAdaptersAsync(new ListNetworkAdaptersRequest { Vm = vm })).Adapters;
        Assert.Equal(3, disconnected.Count);
        Assert.All(disconnected, a => Assert.Equal(("", "Disconnected"), (a.SwitchName, a.Status)));
        await host.Client.Networking.RemoveNetworkAdapterAsync(new NetworkAdapterRef { Vm = vm, Name = "third" });
        Assert.Equal(["Network Adapter", "storage"], (await host.Client.Networking.ListNetworkAdaptersAsync(new ListNetworkAdaptersRequest { Vm = vm })).Adapters.Select(a => a.Name));
    }

    [Fact]
    public async Task AVersionOneConfigurationWithoutAdaptersStillLoads()
    {
        await using var host = await HostFixture.StartAsync(output);
        var created = await host.CreateAsync("old", host.Guest("idle.elf", TestGuests.Idle()));
        await host.StopHostAsync();
        string file = Path.Combine(created.Path, "vm.json");
        var json = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        json.Remove("networkAdapters");
        json["version"] = 1;
        File.WriteAllText(file, json.ToJsonString());

        await host.StartHostAsync();
        var vm = await host.Client.GetVmAsync(new VmRef { Name = "old" });
        Assert.Empty(vm.NetworkAdapters);
        await host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = new VmRef { Name = "old" } });
        Assert.Contains($"\"version\": {HyperSharp.Inventory.VmConfiguration.CurrentVersion}", File.ReadAllText(file));
    }

    [Fact]
    public async Task ARunningVmsAdaptersGetLivePortsWhosePoliciesChangeAtOnceAndGoWithTheWorker()
    {
        await using var host = await HostFixture.StartAsync(output);
        await host.CreateAsync("vm", host.Guest("idle.elf", TestGuests.Idle()));
        await host.Client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "lab" });
        var vm = new VmRef { Name = "vm" };
        var cold = await host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, Name = "cold", SwitchName = "lab" });
        Assert.Equal(OnOffState.Off, cold.DeviceNaming); // Hyper-V's default
        await host.Client.StartVmAsync(vm);
        var switches = host.Server!.Manager.Switches;

        // A port of the test's own on the switch, to send frames to the adapters and count what reaches them.
        var lab = switches.FindByName("lab")!.Running!;
        var (testEnd, switchEnd) = InProcessLink.CreatePair("test");
        lab.AddPort("test", switchEnd, new PortSettings { Role = PortRole.VirtualMachine, MacAddressSpoofing = true });
        testEnd.Start(new Ignore());

        var coldNow = (await host.Client.Networking.ListNetworkAdaptersAsync(new ListNetworkAdaptersRequest { Vm = vm, Name = "cold" })).Adapters.Single();
        Assert.True(coldNow.Connected);
        Assert.True(coldNow.PciSlot > 0, $"the running adapter reports slot {coldNow.PciSlot}");
        // Hot-added while the VM runs: a new virtio-net in a slot of its own, on its own port.
        var hot = await host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, Name = "hot", SwitchName = "lab" });
        Assert.True(hot.Connected);
        Assert.True(hot.PciSlot > 0 && hot.PciSlot != coldNow.PciSlot, $"hot-added adapter in slot {hot.PciSlot}, cold one in {coldNow.PciSlot}");

        var hotPort = switches.PortOf(Guid.Parse(hot.Id))!;
        long Delivered() => hotPort.Counters.SentFrames;
        // A broadcast from the test port: delivered to the worker's end of the port (the send fails if nobody holds it).
        Assert.True(testEnd.Send(Broadcast()));
        Assert.Equal(1, Delivered());
        // Set-VMNetworkAdapterVlan -Access -VlanId 7 on the live port: untagged broadcasts no longer reach it...
        await host.Client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = new NetworkAdapterRef { Vm = vm, Name = "hot" }, AccessVlanId = 7 });
        Assert.Equal(7, hotPort.Settings.VlanId);
        Assert.True(testEnd.Send(Broadcast()));
        Assert.Equal(1, Delivered());
        // ... and back on VLAN 0 they do again.
        await host.Client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = new NetworkAdapterRef { Vm = vm, Name = "hot" }, AccessVlanId = 0, DhcpGuard = OnOffState.On });
        Assert.True(testEnd.Send(Broadcast()));
        Assert.Equal(2, Delivered());
        Assert.True(hotPort.Settings.DhcpGuard);

        // Disconnect and reconnect move the port; a rename and device naming reach the worker (the slot label).
        var moved = await host.Client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = new NetworkAdapterRef { Vm = vm, Name = "cold" }, SwitchName = "" });
        Assert.Equal((false, "Disconnected"), (moved.Connected, moved.Status));
        moved = await host.Client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = new NetworkAdapterRef { Vm = vm, Name = "cold" }, SwitchName = "lab", NewName = "renamed", DeviceNaming = OnOffState.On });
        Assert.Equal((true, "Ok", "renamed", OnOffState.On), (moved.Connected, moved.Status, moved.Name, moved.DeviceNaming));
        Assert.Equal(3, lab.Ports.Count);

        // Moved live to another switch, which is then removed: the adapter stays on the VM, disconnected.
        await host.Client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "spare" });
        var onSpare = await host.Client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = new NetworkAdapterRef { Vm = vm, Name = "hot" }, SwitchName = "spare" });
        Assert.Equal(("spare", true), (onSpare.SwitchName, onSpare.Connected));
        Assert.Equal(2, lab.Ports.Count);
        await host.Client.Networking.RemoveSwitchAsync(new RemoveSwitchRequest { Switch = new SwitchRef { Name = "spare" } });
        var orphan = (await host.Client.Networking.ListNetworkAdaptersAsync(new ListNetworkAdaptersRequest { Vm = vm, Name = "hot" })).Adapters.Single();
        Assert.Equal(("", false, "Disconnected"), (orphan.SwitchName, orphan.Connected, orphan.Status));
        Assert.True(orphan.PciSlot > 0, "the adapter stays in the running VM");
        await host.Client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = new NetworkAdapterRef { Vm = vm, Name = "hot" }, SwitchName = "lab" });
        Assert.Equal(3, lab.Ports.Count);

        // The worker dies: its ports go with it.
        int pid = (await host.Client.GetVmAsync(vm)).WorkerPid;
        Posix.Signal(pid, Posix.SigKill);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await host.Client.GetVmAsync(vm)).State != VmState.Off && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal(["test"], lab.Ports.Select(p => p.Name));
        Assert.All((await host.Client.Networking.ListNetworkAdaptersAsync(new ListNetworkAdaptersRequest { Vm = vm })).Adapters, a => Assert.Equal((false, -1), (a.Connected, a.PciSlot)));
        output.WriteLine($"cold adapter in slot {coldNow.PciSlot}, hot-added in slot {hot.PciSlot}; {cold.MacAddress}, {hot.MacAddress}");
    }

    [Fact]
    public async Task AdaptersGetTheirPortsBackAfterAHostRestartAndAfterASavedVmStartsAgain()
    {
        await using var host = await HostFixture.StartAsync(output);
        await host.CreateAsync("vm", host.Guest("idle.elf", TestGuests.Idle()));
        await host.Client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "lab" });
        var vm = new VmRef { Name = "vm" };
        var adapter = await host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, Name = "eth", SwitchName = "lab" });
        await host.Client.StartVmAsync(vm);
        Assert.True(DeliveredToTheWorker(host, adapter.Id));

        // The host goes away (its switches and ports with it) and comes back: the running worker gets a new port.
        int worker = (await host.Client.GetVmAsync(vm)).WorkerPid;
        await host.StopHostAsync();
        await host.StartHostAsync();
        // The new host reconnects in the background, holding the VM's operation lock meanwhile.
        var managed = host.Server!.Manager.Find(vm.Id, vm.Name);
        await VmLifecycleTests.WaitForAsync(() => Task.FromResult(managed.Idle && host.Server.Manager.Switches.IsAttached(Guid.Parse(adapter.Id))), "the adapter's reconnection");
        Assert.Equal(worker, (await host.Client.GetVmAsync(vm)).WorkerPid);
        Assert.True(DeliveredToTheWorker(host, adapter.Id));

        // Restart-VM rebuilds the machine in the same worker: the new device is plugged into the same port.
        var port = host.Server.Manager.Switches.PortOf(Guid.Parse(adapter.Id));
        await host.Client.RestartVmAsync(new RestartVmRequest { Vm = vm, Force = true });
        await VmLifecycleTests.WaitForAsync(async () =>
        {
            await host.Client.GetVmAsync(vm); // refreshes what the worker reports about its adapters
            return managed.Adapters.SingleOrDefault() is { LinkUp: true, Slot: > 0 };
        }, "the rebuilt VM's adapter on its port");
        Assert.Same(port, host.Server.Manager.Switches.PortOf(Guid.Parse(adapter.Id)));
        Assert.True(DeliveredToTheWorker(host, adapter.Id));

        // Save-VM frees the ports; the restored VM — with an adapter hot-added before the save — is connected again,
        // each adapter in the slot it had.
        var hot = await host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, Name = "hot", SwitchName = "lab" });
        var slots = (await host.Client.Networking.ListNetworkAdaptersAsync(new ListNetworkAdaptersRequest { Vm = vm })).Adapters.Select(a => (a.Name, a.PciSlot)).ToList();
        await host.Client.SaveVmAsync(vm);
        Assert.All((await host.Client.Networking.ListNetworkAdaptersAsync(new ListNetworkAdaptersRequest { Vm = vm })).Adapters, a => Assert.False(a.Connected));
        await host.Client.StartVmAsync(vm);
        var restored = (await host.Client.Networking.ListNetworkAdaptersAsync(new ListNetworkAdaptersRequest { Vm = vm })).Adapters;
        Assert.All(restored, a => Assert.True(a.Connected, $"{a.Name} is not connected after the restore"));
        Assert.Equal(slots, restored.Select(a => (a.Name, a.PciSlot)));
        Assert.True(DeliveredToTheWorker(host, adapter.Id));
        Assert.True(DeliveredToTheWorker(host, hot.Id));
        await host.Client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
    }

    /// <summary>Sends a broadcast from a test port of the adapter's switch; true if the adapter's port passed it to its worker end.</summary>
    private static bool DeliveredToTheWorker(HostFixture host, string adapterId)
    {
        var switches = host.Server!.Manager.Switches;
        var port = switches.PortOf(Guid.Parse(adapterId));
        if (port is null) return false;
        var lab = switches.FindByName("lab")!.Running!;
        var (testEnd, switchEnd) = InProcessLink.CreatePair("probe");
        var probe = lab.AddPort("probe-" + Guid.NewGuid().ToString("N")[..6], switchEnd, new PortSettings { MacAddressSpoofing = true });
        try
        {
            long before = port.Counters.SentFrames;
            testEnd.Send(Broadcast());
            return port.Counters.SentFrames == before + 1;
        }
        finally { lab.RemovePort(probe); }
    }

    private static byte[] Broadcast()
    {
        var frame = new byte[60];
        MacAddress.Broadcast.Write(frame);
        new MacAddress(0x0A_48_53_FF_00_01).Write(frame.AsSpan(6));
        frame[12] = 0x88; frame[13] = 0xB5; // local experimental EtherType
        return frame;
    }

    private sealed class Ignore : IFrameReceiver
    {
        public void Receive(ReadOnlySpan<byte> frame) { }
    }
}
