using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Switching;
using static HyperSharp.Networking.Tests.TestFrames;

namespace HyperSharp.Networking.Tests;

/// <summary>Runts, oversized and malformed frames, and random mutations of valid ones: the switch counts and drops, never throws.</summary>
public class HostileFrameTests
{
    [Fact]
    public void RuntsOversizedAndMulticastSourcesAreDroppedAsMalformed()
    {
        using var vs = new VirtualSwitch("s", SwitchType.Private);
        var a = new TestPort(vs, "a"); var b = new TestPort(vs, "b");
        a.Send([]);
        a.Send(new byte[13]);
        a.Send(Plain(MacAddress.Broadcast, Mac(1))[..16]);                                  // 0x88B5 cut short: still a header, passes
        a.Send(Plain(MacAddress.Broadcast, Mac(1), vlan: 5)[..15]);                         // a tag cut in half
        a.Send(new byte[EthernetHeader.MaxFrameLength + 1]);
        a.Send(Plain(MacAddress.Broadcast, new MacAddress(0x010203040506)));              // group address as source
        Assert.Equal(5, a.Port.Counters.Dropped(DropReason.Malformed));
        Assert.Single(b.Received);
    }

    [Fact]
    public void FuzzedFramesNeverCrashTheSwitchOrItsParsers()
    {
        var random = new Random(5);
        using var vs = new VirtualSwitch("s", SwitchType.External, new SwitchOptions { MaxMacEntries = 512 });
        var guarded = new TestPort(vs, "vm", new PortSettings { MacAddress = Mac(1), DhcpGuard = true, RouterGuard = true, VlanId = 7, MaximumBandwidth = 1_000_000_000 });
        var open = new TestPort(vs, "open", new PortSettings { MacAddressSpoofing = true, DhcpGuard = true, RouterGuard = true });
        var uplink = new TestPort(vs, "up", new PortSettings { Role = PortRole.Uplink });
        byte[][] seeds =
        [
            Ipv4Frame(MacAddress.Broadcast, Mac(1), 17, Udp(67, 68, Bootp(2))),
            Ipv6Frame(MacAddress.Broadcast, Mac(1), 0, Extension(44, Extension(58, Icmp(134)))),
            Ipv6Frame(MacAddress.Broadcast, Mac(1), 17, Udp(547, 546, [7])),
            Ipv4Frame(Mac(2), Mac(1), 1, Icmp(9), vlan: 7),
            Plain(Mac(3), Mac(1), 100, vlan: 4095),
        ];
        long sent = 0;
        for (int i = 0; i < 60_000; i++)
        {
            byte[] frame;
            if (i % 4 == 0)
            {
                frame = new byte[random.Next(0, 200)];
                random.NextBytes(frame);
            }
            else
            {
                var seed = seeds[random.Next(seeds.Length)];
                frame = seed[..Math.Max(0, seed.Length - random.Next(0, 3) * random.Next(0, seed.Length))];
                for (int m = random.Next(1, 6); m > 0 && frame.Length > 0; m--) frame[random.Next(frame.Length)] = (byte)random.Next(256);
            }
            _ = GuardedTraffic.Inspect(0x86DD, frame);
            _ = GuardedTraffic.Inspect(0x0800, frame);
            (i % 3 == 0 ? guarded : i % 3 == 1 ? open : uplink).Send(frame);
            sent++;
        }
        long counted = vs.Ports.Sum(p => p.Counters.ReceivedFrames);
        Assert.Equal(sent, counted);
        Assert.True(vs.LearnedAddresses <= 512);
        // Still a working switch afterwards.
        guarded.Clear(); open.Clear();
        open.Send(Plain(MacAddress.Broadcast, Mac(77)));
        Assert.Single(uplink.Received, f => f.AsSpan(6, 6).SequenceEqual(Plain(MacAddress.Broadcast, Mac(77)).AsSpan(6, 6)));
    }
}
