using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Switching;
using static HyperSharp.Networking.Tests.TestFrames;

namespace HyperSharp.Networking.Tests;

/// <summary>Learning, flooding and aging of the switch core, with real frames through in-process ports.</summary>
public class VirtualSwitchTests
{
    [Fact]
    public void UnknownUnicastFloods_ThenTheLearnedPortAloneGetsIt()
    {
        using var vs = new VirtualSwitch("s", SwitchType.Private);
        var a = new TestPort(vs, "a"); var b = new TestPort(vs, "b"); var c = new TestPort(vs, "c");
        a.Send(Plain(Mac(2), Mac(1)));            // 2 unknown: flooded to b and c, never back to a
        Assert.Single(b.Received); Assert.Single(c.Received); Assert.Empty(a.Received);
        Assert.Equal(a.Port, vs.Lookup(Mac(1)));
        b.Send(Plain(Mac(1), Mac(2)));            // 1 was learned on a: only a gets it
        Assert.Single(a.Received); Assert.Single(c.Received);
        a.Send(Plain(Mac(2), Mac(1)));            // and now 2 is known on b
        Assert.Equal(2, b.Received.Count); Assert.Single(c.Received);
        Assert.Equal(Plain(Mac(2), Mac(1)), b.Received[1]); // forwarded byte for byte
    }

    [Fact]
    public void BroadcastAndMulticastFloodToEveryOtherPort()
    {
        using var vs = new VirtualSwitch("s", SwitchType.Private);
        var ports = Enumerable.Range(0, 4).Select(i => new TestPort(vs, $"p{i}")).ToArray();
        ports[0].Send(Plain(MacAddress.Broadcast, Mac(1)));
        ports[0].Send(Plain(new MacAddress(0x01005E000001), Mac(1))); // IPv4 multicast group
        ports[1].Send(Plain(new MacAddress(0x333300000001), Mac(2))); // IPv6 all-nodes
        Assert.Single(ports[0].Received);
        Assert.Equal(2, ports[1].Received.Count);
        Assert.Equal(3, ports[2].Received.Count);
        Assert.Equal(3, ports[3].Received.Count);
    }

    [Fact]
    public void LearnedAddressesAgeOut_AndAMovedStationIsRelearned()
    {
        var time = new ManualTime();
        using var vs = new VirtualSwitch("s", SwitchType.Private, new SwitchOptions { MacAgingTime = TimeSpan.FromSeconds(300), Time = time });
        var a = new TestPort(vs, "a"); var b = new TestPort(vs, "b"); var c = new TestPort(vs, "c");
        a.Send(Plain(Mac(9), Mac(1)));
        time.Advance(TimeSpan.FromSeconds(299));
        Assert.Equal(a.Port, vs.Lookup(Mac(1)));
        b.Send(Plain(Mac(1), Mac(2)));
        Assert.DoesNotContain(c.Received, f => MacAddress.Read(f) == Mac(1));  // still known: not flooded
        time.Advance(TimeSpan.FromSeconds(2));                             // 301 s since 1 was last seen
        Assert.Null(vs.Lookup(Mac(1)));
        b.Send(Plain(Mac(1), Mac(2)));
        Assert.Single(c.Received, f => MacAddress.Read(f) == Mac(1)); // aged out: flooded again
        c.Send(Plain(Mac(2), Mac(1)));                                     // station 1 moved to c
        Assert.Equal(c.Port, vs.Lookup(Mac(1)));
    }

    [Fact]
    public void RemovingAPortForgetsWhatWasLearnedOnIt()
    {
        using var vs = new VirtualSwitch("s", SwitchType.Private);
        var a = new TestPort(vs, "a"); var b = new TestPort(vs, "b");
        a.Send(Plain(Mac(2), Mac(1)));
        vs.RemovePort(a.Port);
        Assert.Null(vs.Lookup(Mac(1)));
        Assert.Single(vs.Ports);
        a.Send(Plain(Mac(2), Mac(1)));   // the link is closed: nothing arrives any more
        Assert.Single(b.Received);
    }

    [Fact]
    public void AFloodOfInventedSourcesIsBounded_AndTrafficStillFlows()
    {
        using var vs = new VirtualSwitch("s", SwitchType.Private, new SwitchOptions { MaxMacEntries = 256 });
        var a = new TestPort(vs, "a"); var b = new TestPort(vs, "b");
        for (int i = 0; i < 5000; i++) a.Send(Plain(Mac(100000), Mac(1000 + i), 0));
        Assert.True(vs.LearnedAddresses <= 256, $"{vs.LearnedAddresses} entries");
        Assert.Equal(5000, b.Received.Count); // flooded, not lost
    }

    [Fact]
    public void PortRolesFollowTheSwitchType()
    {
        using var priv = new VirtualSwitch("p", SwitchType.Private);
        Assert.Throws<ArgumentException>(() => new TestPort(priv, "host", new PortSettings { Role = PortRole.Host }));
        Assert.Throws<ArgumentException>(() => new TestPort(priv, "up", new PortSettings { Role = PortRole.Uplink }));
        using var internalSwitch = new VirtualSwitch("i", SwitchType.Internal);
        _ = new TestPort(internalSwitch, "host", new PortSettings { Role = PortRole.Host });
        Assert.Throws<ArgumentException>(() => new TestPort(internalSwitch, "host2", new PortSettings { Role = PortRole.Host }));
        Assert.Throws<ArgumentException>(() => new TestPort(internalSwitch, "vm", new PortSettings { MacAddress = new MacAddress(0x010000000001) }));
    }
}
