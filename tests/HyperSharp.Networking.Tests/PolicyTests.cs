using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Switching;
using static HyperSharp.Networking.Tests.TestFrames;

namespace HyperSharp.Networking.Tests;

/// <summary>Each port policy with real frames: ones that must pass and ones that must not.</summary>
public class PolicyTests
{
    private static readonly MacAddress VmMac = Mac(0x10), Other = Mac(0x20);

    private static (VirtualSwitch Switch, TestPort Vm, TestPort Peer) Pair(PortSettings vm)
    {
        var vs = new VirtualSwitch("s", SwitchType.Private);
        return (vs, new TestPort(vs, "vm", vm with { MacAddress = vm.MacAddress ?? VmMac }), new TestPort(vs, "peer", new PortSettings { MacAddressSpoofing = true }));
    }

    [Fact]
    public void SpoofingProtection_DropsForeignSourceMacs_UnlessAllowed()
    {
        var (vs, vm, peer) = Pair(new PortSettings());
        using (vs)
        {
            vm.Send(Plain(Other, VmMac));
            vm.Send(Plain(Other, Mac(0x99)));   // spoofed
            Assert.Single(peer.Received);
            Assert.Equal(1, vm.Port.Counters.Dropped(DropReason.Spoofing));
            Assert.Null(vs.Lookup(Mac(0x99)));   // a dropped frame teaches the switch nothing
            vm.Port.Settings = vm.Port.Settings with { MacAddressSpoofing = true };
            vm.Send(Plain(Other, Mac(0x99)));
            Assert.Equal(2, peer.Received.Count);
        }
    }

    public static TheoryData<string, byte[], bool> DhcpFrames => new()
    {
        { "DHCPv4 offer/ack 67->68", Ipv4Frame(MacAddress.Broadcast, VmMac, 17, Udp(67, 68, Bootp(2))), true },
        { "DHCPv4 reply to a relay 67->67", Ipv4Frame(MacAddress.Broadcast, VmMac, 17, Udp(67, 67, Bootp(2))), true },
        { "DHCPv6 advertise", Ipv6Frame(MacAddress.Broadcast, VmMac, 17, Udp(547, 546, [2, 0, 0, 0])), true },
        { "DHCPv6 reply", Ipv6Frame(MacAddress.Broadcast, VmMac, 17, Udp(547, 546, [7, 0, 0, 0])), true },
        { "DHCPv6 reply behind a hop-by-hop header", Ipv6Frame(MacAddress.Broadcast, VmMac, 0, Extension(17, Udp(547, 546, [7, 0, 0, 0]))), true },
        { "DHCPv4 discover 68->67 (client)", Ipv4Frame(MacAddress.Broadcast, VmMac, 17, Udp(68, 67, Bootp(1))), false },
        { "relayed request 67->67 (op 1)", Ipv4Frame(MacAddress.Broadcast, VmMac, 17, Udp(67, 67, Bootp(1))), false },
        { "DHCPv6 solicit (client)", Ipv6Frame(MacAddress.Broadcast, VmMac, 17, Udp(546, 547, [1, 0, 0, 0])), false },
        { "DNS", Ipv4Frame(MacAddress.Broadcast, VmMac, 17, Udp(53, 53, new byte[20])), false },
        { "later IPv4 fragment", Ethernet(MacAddress.Broadcast, VmMac, 0x0800, Ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], Udp(67, 68, Bootp(2)), fragment: 100)), false },
    };

    [Theory]
    [MemberData(nameof(DhcpFrames))]
    public void DhcpGuard_DropsServerMessagesOnly(string what, byte[] frame, bool server) =>
        AssertGuard(new PortSettings { DhcpGuard = true }, s => s with { DhcpGuard = false }, DropReason.DhcpGuard, what, frame, server);

    public static TheoryData<string, byte[], bool> RouterFrames => new()
    {
        { "ICMPv6 router advertisement", Ipv6Frame(MacAddress.Broadcast, VmMac, 58, Icmp(134)), true },
        { "ICMPv6 redirect", Ipv6Frame(MacAddress.Broadcast, VmMac, 58, Icmp(137)), true },
        { "RA behind destination options", Ipv6Frame(MacAddress.Broadcast, VmMac, 60, Extension(58, Icmp(134))), true },
        { "ICMPv4 router advertisement", Ipv4Frame(MacAddress.Broadcast, VmMac, 1, Icmp(9)), true },
        { "ICMPv4 redirect", Ipv4Frame(MacAddress.Broadcast, VmMac, 1, Icmp(5)), true },
        { "RA hidden behind nine extension headers", Ipv6Frame(MacAddress.Broadcast, VmMac, 60, Enumerable.Range(0, 8).Aggregate(Icmp(134), (b, _) => Extension(60, b))), true },
        { "ICMPv6 router solicitation", Ipv6Frame(MacAddress.Broadcast, VmMac, 58, Icmp(133)), false },
        { "ICMPv6 neighbour advertisement", Ipv6Frame(MacAddress.Broadcast, VmMac, 58, Icmp(136)), false },
        { "ICMPv4 echo", Ipv4Frame(MacAddress.Broadcast, VmMac, 1, Icmp(8)), false },
        { "ICMPv4 router solicitation", Ipv4Frame(MacAddress.Broadcast, VmMac, 1, Icmp(10)), false },
    };

    [Theory]
    [MemberData(nameof(RouterFrames))]
    public void RouterGuard_DropsAdvertisementsAndRedirectsOnly(string what, byte[] frame, bool router) =>
        AssertGuard(new PortSettings { RouterGuard = true }, s => s with { RouterGuard = false }, DropReason.RouterGuard, what, frame, router);

    /// <summary>With the guard on the frame is dropped (and counted) exactly when it should be; with it off, everything passes.</summary>
    private static void AssertGuard(PortSettings guarded, Func<PortSettings, PortSettings> off, DropReason reason, string what, byte[] frame, bool dropped)
    {
        var (vs, vm, peer) = Pair(guarded);
        using (vs)
        {
            vm.Send(frame);
            Assert.True(dropped ? peer.Received.Count == 0 : peer.Received.Count == 1, what);
            Assert.Equal(dropped ? 1 : 0, vm.Port.Counters.Dropped(reason));
            vm.Port.Settings = off(vm.Port.Settings);
            vm.Send(frame);
            Assert.Equal(dropped ? 1 : 2, peer.Received.Count);
        }
    }

    [Fact]
    public void AccessVlans_KeepFramesInsideTheirVlan()
    {
        using var vs = new VirtualSwitch("s", SwitchType.Private);
        var a10 = new TestPort(vs, "a10", new PortSettings { VlanId = 10 });
        var b10 = new TestPort(vs, "b10", new PortSettings { VlanId = 10 });
        var c20 = new TestPort(vs, "c20", new PortSettings { VlanId = 20 });
        var untagged = new TestPort(vs, "u");
        a10.Send(Plain(MacAddress.Broadcast, Mac(1)));
        Assert.Single(b10.Received); Assert.Empty(c20.Received); Assert.Empty(untagged.Received);
        Assert.Equal(Plain(MacAddress.Broadcast, Mac(1)), b10.Received[0]); // delivered untagged on an access port
        c20.Send(Plain(Mac(1), Mac(3)));                                    // 1 is known only in VLAN 10: VLAN 20 floods, reaching nobody
        Assert.Single(b10.Received); Assert.Empty(a10.Received);
        a10.Send(Plain(MacAddress.Broadcast, Mac(1), vlan: 20));            // a VM may not tag its way into another VLAN
        Assert.Empty(c20.Received);
        Assert.Equal(1, a10.Port.Counters.Dropped(DropReason.Vlan));
        b10.Send(Plain(Mac(1), Mac(2)));                                    // unicast within the VLAN
        Assert.Single(a10.Received);
    }

    [Fact]
    public void Uplink_CarriesVlansTagged_AndAccessPortsGetThemUntagged()
    {
        using var vs = new VirtualSwitch("x", SwitchType.External);
        var uplink = new TestPort(vs, "uplink", new PortSettings { Role = PortRole.Uplink });
        var vm10 = new TestPort(vs, "vm10", new PortSettings { VlanId = 10 });
        var vm0 = new TestPort(vs, "vm0");
        vm10.Send(Plain(MacAddress.Broadcast, Mac(1)));
        Assert.Equal(Plain(MacAddress.Broadcast, Mac(1), vlan: 10), uplink.Received.Single()); // tagged on the wire
        uplink.Send(Plain(Mac(1), Mac(50), vlan: 10));
        Assert.Equal(Plain(Mac(1), Mac(50)), vm10.Received.Single());                          // untagged to the VM
        uplink.Send(Plain(MacAddress.Broadcast, Mac(51)));
        Assert.Single(vm0.Received); Assert.Single(vm10.Received);                              // untagged stays in VLAN 0
    }

    [Fact]
    public void MaximumBandwidth_PassesTheRateAndDropsTheExcess()
    {
        var time = new ManualTime();
        using var vs = new VirtualSwitch("s", SwitchType.Private, new SwitchOptions { Time = time });
        const long rate = 10_000_000; // 10 Mbit/s: a 100 ms burst is 125 000 bytes
        var vm = new TestPort(vs, "vm", new PortSettings { MacAddress = VmMac, MaximumBandwidth = rate });
        var peer = new TestPort(vs, "peer");
        var frame = Plain(Other, VmMac, 1000 - 14);
        for (int i = 0; i < 1000; i++) vm.Send(frame);
        Assert.Equal(125, peer.Received.Count);                 // the burst, no more
        time.Advance(TimeSpan.FromSeconds(0.05));               // 50 ms: 62 500 bytes of tokens
        for (int i = 0; i < 1000; i++) vm.Send(frame);
        Assert.Equal(125 + 62, peer.Received.Count);
        Assert.Equal(2000 - 187, vm.Port.Counters.Dropped(DropReason.Bandwidth));
        vm.Port.Settings = vm.Port.Settings with { MaximumBandwidth = 0 };
        for (int i = 0; i < 10; i++) vm.Send(frame);
        Assert.Equal(197, peer.Received.Count);                 // unlimited again
    }
}
