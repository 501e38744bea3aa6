using System.Net;
using System.Net.Sockets;
using HyperSharp.Networking.Configuration;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Links;
using HyperSharp.Networking.Switching;
using Xunit.Abstractions;
using static HyperSharp.Networking.Tests.TestFrames;

namespace HyperSharp.Networking.Tests;

/// <summary>
/// Internal and External switches against real Linux interfaces, each inside a network namespace
/// the test creates and deletes: traffic from the namespace's sockets reaches a VM port through the
/// switch's TAP (Internal) or through a veth bridged by a packet socket (External), and back.
/// </summary>
public class HostNetworkTests(ITestOutputHelper output)
{
    private static readonly MacAddress VmMac = Mac(0x42);
    private static readonly byte[] VmIp = [10, 99, 0, 2];

    [Fact]
    public async Task InternalSwitch_TapInANamespace_CarriesUdpBothWays()
    {
        var (ns, why) = NetworkNamespace.Create();
        if (ns is null) { output.WriteLine("skipped: " + why); return; }
        using (ns)
        {
            var vs = await ns.Enter(() => HostedSwitch.Start(new SwitchConfiguration { Name = "lab", Type = SwitchType.Internal, HostInterfaceName = "hstap0" }));
            using (vs)
            {
                Assert.Contains("state UNKNOWN", ns.IpOutput("link", "show", "hstap0")); // up (a TAP reports UNKNOWN once up)
                ns.Ip("addr", "add", "10.99.0.1/24", "dev", "hstap0");
                await Exchange(ns, vs);
            }
            Assert.Contains("does not exist", ns.IpOutput("link", "show", "hstap0")); // the switch's TAP went with it
        }
    }

    [Fact]
    public async Task ExternalSwitch_BridgedToAVeth_CarriesUdpBothWays()
    {
        var (ns, why) = NetworkNamespace.Create();
        if (ns is null) { output.WriteLine("skipped: " + why); return; }
        using (ns)
        {
            ns.AddVethPair("hsv0", "hsv1");
            ns.Ip("addr", "add", "10.99.0.1/24", "dev", "hsv0");
            string before = ns.IpOutput("-d", "link", "show", "hsv1");
            Assert.Contains("promiscuity 0", before);
            var vs = await ns.Enter(() => HostedSwitch.Start(new SwitchConfiguration { Name = "ext", Type = SwitchType.External, NetAdapterName = "hsv1" }));
            using (vs)
            {
                Assert.Contains("promiscuity 1", ns.IpOutput("-d", "link", "show", "hsv1")); // the socket's membership, not the interface flag
                await Exchange(ns, vs);
            }
            Assert.Equal(before, ns.IpOutput("-d", "link", "show", "hsv1")); // promiscuity and all: as it was
        }
    }

    [Fact]
    public async Task ExternalSwitch_TrunksVlansOverTheWire_AccessPortsSeeOnlyTheirOwn()
    {
        var (ns, why) = NetworkNamespace.Create();
        if (ns is null) { output.WriteLine("skipped: " + why); return; }
        using (ns)
        {
            ns.AddVethPair("hsv0", "hsv1");
            // The kernel takes the tag off a frame it receives (VLAN offload) and reports it beside the frame;
            // the uplink must put it back. The "wire" is a packet socket on the veth's other end.
            var (vs, wire) = await ns.Enter(() => (HostedSwitch.Start(new SwitchConfiguration { Name = "ext", Type = SwitchType.External, NetAdapterName = "hsv1" }), PacketSocketLink.Open("hsv0")));
            using (vs)
            using (wire)
            {
                var fromSwitch = new TestReceiver();
                wire.Start(fromSwitch);
                var vm10 = new TestPort(vs, "vm10", new PortSettings { MacAddress = Mac(0x10), VlanId = 10 });
                var vm0 = new TestPort(vs, "vm0", new PortSettings { MacAddress = Mac(0x20) });
                var tagged = Plain(MacAddress.Broadcast, Mac(0x99), 50, vlan: 10);
                Assert.True(wire.Send(tagged));
                await vm10.WaitFor(f => MacAddress.Read(f.AsSpan(6)) == Mac(0x99), TimeSpan.FromSeconds(5));
                Assert.Equal(Plain(MacAddress.Broadcast, Mac(0x99), 50), vm10.Received.Single()); // untagged at the access port
                Assert.True(wire.Send(Plain(MacAddress.Broadcast, Mac(0x98), 50)));              // untagged: VLAN 0 only
                await vm0.WaitFor(f => MacAddress.Read(f.AsSpan(6)) == Mac(0x98), TimeSpan.FromSeconds(5));
                Assert.DoesNotContain(vm0.Received, f => MacAddress.Read(f.AsSpan(6)) == Mac(0x99));
                Assert.Single(vm10.Received);
                vm10.Send(Plain(Mac(0x99), Mac(0x10), 50));                                      // back out: tagged again on the wire
                await fromSwitch.WaitFor(f => MacAddress.Read(f.AsSpan(6)) == Mac(0x10));
                Assert.Equal(Plain(Mac(0x99), Mac(0x10), 50, vlan: 10), fromSwitch.Frames.Single(f => MacAddress.Read(f.AsSpan(6)) == Mac(0x10)));
            }
        }
    }

    /// <summary>A datagram from a namespace socket to the VM port (after ARP), then one from the VM port to a namespace socket.</summary>
    private async Task Exchange(NetworkNamespace ns, VirtualSwitch vs)
    {
        var vm = new TestPort(vs, "vm", new PortSettings { MacAddress = VmMac }) { Answer = ArpResponder(VmMac, VmIp) };
        byte[] message = "datagram from the host side"u8.ToArray();
        var socket = await ns.Enter(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.Parse("10.99.0.1"), 6000));
            return s;
        });
        using (socket)
        {
            await socket.SendToAsync(message, new IPEndPoint(new IPAddress(VmIp), 5000));
            var arrived = await vm.WaitFor(f => UdpPayload(f, 5000) is not null, TimeSpan.FromSeconds(10));
            Assert.Equal(message, UdpPayload(arrived, 5000));
            var hostMac = MacAddress.Read(arrived.AsSpan(6));
            Assert.Equal(vs.Ports.Single(p => p.Settings.Role != PortRole.VirtualMachine), vs.Lookup(hostMac));
            output.WriteLine($"host side {hostMac} -> VM port: {arrived.Length}-byte frame");

            byte[] reply = "and back from the VM port"u8.ToArray();
            vm.Send(Ethernet(hostMac, VmMac, EthernetHeader.EtherTypeIPv4, Ipv4(17, VmIp, [10, 99, 0, 1], Udp(5000, 6000, reply))));
            var buffer = new byte[100];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var got = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
            Assert.Equal(reply, buffer[..got.ReceivedBytes]);
            Assert.Equal(new IPEndPoint(new IPAddress(VmIp), 5000), got.RemoteEndPoint);
        }
    }

    [Fact]
    public async Task InterfacesThatCannotBeSetUp_GiveClearErrors_AndLeaveTheHostAsItWas()
    {
        var (ns, why) = NetworkNamespace.Create();
        if (ns is null) { output.WriteLine("skipped: " + why); return; }
        using (ns)
        {
            ns.Ip("link", "add", "hsv0", "type", "veth", "peer", "name", "hsv1");
            string before = ns.IpOutput("-d", "link");
            var taken = await Assert.ThrowsAsync<NetworkSetupException>(() => ns.Enter(() => HostedSwitch.Start(new SwitchConfiguration { Name = "x", Type = SwitchType.Internal, HostInterfaceName = "hsv0" })));
            Assert.Contains("already exists", taken.Message);
            var missing = await Assert.ThrowsAsync<NetworkSetupException>(() => ns.Enter(() => HostedSwitch.Start(new SwitchConfiguration { Name = "y", Type = SwitchType.External, NetAdapterName = "nosuch0" })));
            Assert.Contains("no such network interface", missing.Message);
            await Assert.ThrowsAsync<ArgumentException>(() => ns.Enter(() => HostedSwitch.Start(new SwitchConfiguration { Name = "z", Type = SwitchType.Internal, HostInterfaceName = "a/b" })));
            Assert.Equal(before, ns.IpOutput("-d", "link"));
            output.WriteLine(taken.Message + "\n" + missing.Message);
        }
    }

    [Fact]
    public async Task SeqpacketPorts_KeepFrameBoundaries_AndSurviveTheAdapterGoingAway()
    {
        using var vs = new VirtualSwitch("s", SwitchType.Private);
        var (switchEnd, adapterEnd) = SeqpacketLink.CreatePair("worker");
        vs.AddPort("vm", switchEnd, new PortSettings { MacAddress = VmMac });
        var peer = new TestPort(vs, "peer");
        var inbox = new TestReceiver();
        adapterEnd.Start(inbox);
        for (int size = 14; size <= 1514; size += 100) Assert.True(adapterEnd.Send(Plain(Mac(1), VmMac, size - 14)));
        await peer.WaitFor(f => f.Length == 1414, TimeSpan.FromSeconds(5));
        Assert.Equal(Enumerable.Range(0, 16).Select(i => 14 + 100 * i), peer.Received.Select(f => f.Length));
        peer.Send(Plain(VmMac, Mac(1), 1500));
        await inbox.WaitForCount(1);
        Assert.Equal(Plain(VmMac, Mac(1), 1500), inbox.Frames[0]);
        adapterEnd.Dispose();                        // the worker exits
        peer.Send(Plain(VmMac, Mac(1)));             // the switch drops, counts, carries on
        await Task.Delay(50);
        peer.Send(Plain(MacAddress.Broadcast, Mac(1)));
        Assert.True(vs.Ports[0].Counters.Dropped(DropReason.Congested) >= 1);
    }

    private sealed class TestReceiver : IFrameReceiver
    {
        public List<byte[]> Frames { get { lock (_frames) return [.. _frames]; } }
        private readonly List<byte[]> _frames = [];
        public void Receive(ReadOnlySpan<byte> frame) { lock (_frames) _frames.Add(frame.ToArray()); }
        public async Task WaitForCount(int n) { for (int i = 0; i < 500 && Frames.Count < n; i++) await Task.Delay(10); }
        /// <summary>Waits (up to 5 s) for a frame that matches: the kernel sends its own (IPv6 neighbour and multicast
        /// traffic) on an interface that has just come up, so "some frame arrived" is not "ours arrived".</summary>
        public async Task WaitFor(Func<byte[], bool> match) { for (int i = 0; i < 500 && !Frames.Any(match); i++) await Task.Delay(10); }
    }
}
