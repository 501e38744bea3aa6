using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using HyperSharp.Api.V1;
using HyperSharp.Machine.Tests;
using HyperSharp.Networking.Tests;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Add-VMNetworkAdapter on a running Debian guest (Emulated backend) through `hyper host` running inside a network
/// namespace the test creates: the adapter, connected to an Internal switch whose TAP the host made there, appears in
/// the guest without a name (device naming Off, Hyper-V's default: an empty PCI slot label); the guest brings it up, pings
/// the host side and sends data to a server the test runs in the namespace (checked by SHA-256). Then, on the live port: an
/// access VLAN cuts the guest off and taking it away lets it back; -DeviceNaming On shows the name as the slot label, a
/// rename changes it, Off hides it again; a disconnect and connect take the link down and up; Remove-VMNetworkAdapter
/// unplugs it.
/// </summary>
public class NetworkAdapterGuestTests(ITestOutputHelper output)
{
    private const string HostAddress = "10.79.0.1";

    private const string GuestScript = """
        echo TEST-READY
        i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 2400 ]; do sleep 0.05; i=$((i+1)); done
        if [ ! -e /sys/class/net/eth0 ]; then echo TEST-NO-ETH0; sleep 600; fi
        # /sys/class/net/eth0/device is the virtio device; the slot label is on its parent, the PCI function.
        pci=$(dirname "$(readlink -f /sys/class/net/eth0/device)")
        label() { cat "$pci/label"; }
        # The label as plugged, read now: the test renames the adapter as soon as it sees a later line, so reading it
        # again just before waiting for the rename could already see the new name (and then wait for ever).
        plugged=$(label)
        echo "TEST-LABEL [$plugged]"
        echo "TEST-MAC $(cat /sys/class/net/eth0/address)"
        ifconfig eth0 10.79.0.2 netmask 255.255.255.0 up
        if ping -c 2 -W 10 10.79.0.1 >/dev/null; then echo TEST-PING-OK; else echo TEST-PING-FAILED; fi
        dd if=/dev/urandom of=/tmp/up bs=1024 count=64 2>/dev/null
        echo "TEST-UP-SHA $(sha256sum /tmp/up | cut -d' ' -f1)"
        nc 10.79.0.1 7000 < /tmp/up
        echo TEST-SENT
        # The test moves the port to VLAN 5 and says so on the console, then back to untagged.
        read -r step
        if ping -c 2 -W 3 10.79.0.1 >/dev/null 2>&1; then echo TEST-VLAN5-REACHED; else echo TEST-VLAN5-CUT; fi
        read -r step
        if ping -c 3 -W 3 10.79.0.1 >/dev/null 2>&1; then echo TEST-UNTAGGED-REACHED; else echo TEST-UNTAGGED-CUT; fi
        # Each label is read once and then printed: the test changes it again as soon as it sees the line.
        i=0; while [ "$(label)" = "$plugged" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
        named=$(label); echo "TEST-NAMED [$named]"
        i=0; while [ "$(label)" = "$named" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
        renamed=$(label); echo "TEST-RENAMED [$renamed]"
        i=0; while [ "$(label)" = "$renamed" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
        echo "TEST-UNNAMED [$(label)]"
        i=0; while [ "$(cat /sys/class/net/eth0/carrier)" = 1 ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
        echo "TEST-CARRIER $(cat /sys/class/net/eth0/carrier) after disconnect"
        i=0; while [ "$(cat /sys/class/net/eth0/carrier)" = 0 ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
        echo "TEST-CARRIER $(cat /sys/class/net/eth0/carrier) after connect"
        if ping -c 3 -W 3 10.79.0.1 >/dev/null 2>&1; then echo TEST-RECONNECTED-REACHED; else echo TEST-RECONNECTED-CUT; fi
        i=0; while [ -e /sys/class/net/eth0 ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
        [ -e /sys/class/net/eth0 ] || echo TEST-ETH-GONE
        sleep 600
        """;

    [Fact]
    public async Task AnAdapterHotAddedToARunningDebianGuestReachesTheHostAndFollowsRenamesPoliciesAndRemoval()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        var (ns, nsWhy) = NetworkNamespace.Create();
        if (ns is null) { output.WriteLine("skipped: " + nsWhy); return; }
        using var _ns = ns;
        await using var fixture = await HostFixture.StartAsync(output);
        await fixture.StopHostAsync();
        using var host = await HostProcess.StartAsync(fixture.Root, fixture.SocketPath, ["ip", "netns", "exec", ns.Name]);
        try
        {
            fixture.Connect();
            var client = fixture.Client;
            var lab = await client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "lab", SwitchType = SwitchType.Internal, HostInterfaceName = "hslab0" });
            Assert.Equal("hslab0", lab.HostInterfaceName);
            ns.Ip("addr", "add", HostAddress + "/24", "dev", "hslab0");
            using var server = await ns.Enter(() =>
            {
                var listener = new TcpListener(IPAddress.Parse(HostAddress), 7000);
                listener.Start();
                return listener;
            });
            var upload = ReceiveAllAsync(server);

            string initrd = GuestOverlay.Build(kit, fixture.Root, new Dictionary<string, string> { ["50-nic.sh"] = GuestScript });
            var vm = new VmRef { Name = "debian" };
            await client.CreateVmAsync(new CreateVmRequest
            {
                Name = "debian", MemoryStartupBytes = 256L << 20, Backend = "emulated",
                Boot = new BootSource { KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, KernelCommandLine = "console=ttyS0" },
            });
            await client.StartVmAsync(vm);
            Assert.Contains("TEST-READY", await fixture.ReadConsoleAsync("debian", t => t.Contains("TEST-READY"), TimeSpan.FromSeconds(600)));

            var adapter = await client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, Name = "lab-net", SwitchName = "lab" });
            Assert.True(adapter.Connected);
            Assert.Equal(OnOffState.Off, adapter.DeviceNaming);
            Assert.True(adapter.PciSlot > 0);
            string console = await fixture.ReadConsoleAsync("debian", t => t.Contains("TEST-SENT") || t.Contains("TEST-NO-ETH0"), TimeSpan.FromSeconds(300));
            output.WriteLine(console);
            Assert.Contains("TEST-LABEL []", console); // device naming Off: the guest is not told the name
            Assert.Contains("TEST-MAC " + string.Join(':', adapter.MacAddress.ToLowerInvariant().Chunk(2).Select(c => new string(c))), console);
            Assert.Contains("TEST-PING-OK", console);
            byte[] uploaded = await upload.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(64 * 1024, uploaded.Length);
            Assert.Equal(Regex.Match(console, "TEST-UP-SHA ([0-9a-f]{64})").Groups[1].Value, Convert.ToHexStringLower(SHA256.HashData(uploaded)));

            // Set-VMNetworkAdapterVlan on the live port: the guest, on VLAN 5, no longer reaches the untagged host port...
            var nic = new NetworkAdapterRef { Vm = vm, Name = "lab-net" };
            await client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = nic, AccessVlanId = 5 });
            console = await fixture.ReadConsoleAsync("debian", t => Regex.IsMatch(t, @"TEST-VLAN5-\w+\s"), TimeSpan.FromSeconds(120), "vlan5\n"u8.ToArray());
            Assert.Contains("TEST-VLAN5-CUT", console);
            // ... and back untagged it does again.
            await client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = nic, AccessVlanId = 0 });
            console = await fixture.ReadConsoleAsync("debian", t => Regex.IsMatch(t, @"TEST-UNTAGGED-\w+\s"), TimeSpan.FromSeconds(120), "untagged\n"u8.ToArray());
            Assert.Contains("TEST-UNTAGGED-REACHED", console);

            // Set-VMNetworkAdapter -DeviceNaming On: the running guest reads the name as the slot label at once...
            var named = await client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = nic, DeviceNaming = OnOffState.On });
            Assert.Equal(OnOffState.On, named.DeviceNaming);
            console = await fixture.ReadConsoleAsync("debian", t => Regex.IsMatch(t, @"TEST-NAMED \[.*\]"), TimeSpan.FromSeconds(300));
            Assert.Contains("TEST-NAMED [lab-net]", console);
            // ... Rename-VMNetworkAdapter changes it...
            await client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = nic, NewName = "lab-renamed" });
            console = await fixture.ReadConsoleAsync("debian", t => Regex.IsMatch(t, @"TEST-RENAMED \[.*\]"), TimeSpan.FromSeconds(300));
            Assert.Contains("TEST-RENAMED [lab-renamed]", console);
            // ... and -DeviceNaming Off takes it away.
            await client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = new NetworkAdapterRef { Vm = vm, Name = "lab-renamed" }, DeviceNaming = OnOffState.Off });
            console = await fixture.ReadConsoleAsync("debian", t => Regex.IsMatch(t, @"TEST-UNNAMED \[.*\]"), TimeSpan.FromSeconds(300));
            output.WriteLine(console[console.IndexOf("TEST-SENT", StringComparison.Ordinal)..]);
            Assert.Contains("TEST-UNNAMED []", console);

            // Disconnect- and Connect-VMNetworkAdapter: the guest sees the link go down and come up, and reaches the host again.
            await client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = new NetworkAdapterRef { Vm = vm, Name = "lab-renamed" }, SwitchName = "" });
            console = await fixture.ReadConsoleAsync("debian", t => t.Contains("after disconnect"), TimeSpan.FromSeconds(120));
            Assert.Contains("TEST-CARRIER 0 after disconnect", console);
            await client.Networking.UpdateNetworkAdapterAsync(new UpdateNetworkAdapterRequest { Adapter = new NetworkAdapterRef { Vm = vm, Name = "lab-renamed" }, SwitchName = "lab" });
            console = await fixture.ReadConsoleAsync("debian", t => Regex.IsMatch(t, @"TEST-RECONNECTED-\w+\s"), TimeSpan.FromSeconds(120));
            Assert.Contains("TEST-CARRIER 1 after connect", console);
            Assert.Contains("TEST-RECONNECTED-REACHED", console);

            // Remove-VMNetworkAdapter: the guest lets go of the device, the port is freed.
            await client.Networking.RemoveNetworkAdapterAsync(new NetworkAdapterRef { Vm = vm, Name = "lab-renamed" });
            console = await fixture.ReadConsoleAsync("debian", t => t.Contains("TEST-ETH-GONE"), TimeSpan.FromSeconds(120));
            output.WriteLine(console);
            Assert.Contains("TEST-ETH-GONE", console);
            var after = await client.Networking.GetSwitchAsync(new SwitchRef { Name = "lab" });
            Assert.Equal(0, after.ConnectedAdapterCount);
            Assert.Empty((await client.GetVmAsync(vm)).NetworkAdapters);
            output.WriteLine($"switch lab: {after.FramesForwarded} frames forwarded, {after.FramesDropped} dropped");
            Assert.True(after.FramesForwarded > 0);

            await client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
        }
        finally
        {
            output.WriteLine("--- hyper host\n" + host.Log);
        }
    }

    private static async Task<byte[]> ReceiveAllAsync(TcpListener server)
    {
        using var connection = await server.AcceptTcpClientAsync();
        using var data = new MemoryStream();
        await connection.GetStream().CopyToAsync(data);
        return data.ToArray();
    }
}
