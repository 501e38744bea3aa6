using Grpc.Core;
using HyperSharp.Api.V1;
using HyperSharp.Networking.Tests;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Switches with a host side, made by `hyper host` running inside a network namespace the test creates: an Internal
/// switch's TAP and an External switch's uplink (a veth end) exist while the switch does, come back when the host
/// restarts, and go when it is removed; a TAP whose name is taken is refused and leaves the namespace as it was.
/// </summary>
public class SwitchNamespaceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task InternalAndExternalSwitchesOwnTheirInterfacesAcrossHostRestarts()
    {
        var (ns, why) = NetworkNamespace.Create();
        if (ns is null) { output.WriteLine("skipped: " + why); return; }
        using var _ns = ns;
        ns.AddVethPair("hsup0", "hsup1");
        await using var fixture = await HostFixture.StartAsync(output);
        await fixture.StopHostAsync();
        string[] inNamespace = ["ip", "netns", "exec", ns.Name];
        // `ip -o link` prints "3: NAME: ..." or, for a veth, "3: NAME@PEER: ...".
        bool Exists(string name) => System.Text.RegularExpressions.Regex.IsMatch(ns.IpOutput("-o", "link", "show"), $@": {name}[:@]");

        using (var host = await HostProcess.StartAsync(fixture.Root, fixture.SocketPath, inNamespace))
        {
            fixture.Connect();
            var client = fixture.Client;
            var inside = await client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "inside", SwitchType = SwitchType.Internal });
            Assert.Equal("hs-inside", inside.HostInterfaceName); // derived from the name
            Assert.True(Exists("hs-inside"));
            var uplink = await client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "uplink", NetAdapterName = "hsup0" });
            Assert.Equal(SwitchType.External, uplink.SwitchType);

            string before = ns.IpOutput("-o", "link", "show");
            var taken = await Assert.ThrowsAsync<RpcException>(() => client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "clash", SwitchType = SwitchType.Internal, HostInterfaceName = "hsup1" }).ResponseAsync);
            Assert.Equal(StatusCode.FailedPrecondition, taken.StatusCode);
            Assert.Contains("hsup1", taken.Status.Detail);
            Assert.Equal(before, ns.IpOutput("-o", "link", "show"));
            host.Kill();
        }
        Assert.False(Exists("hs-inside"), "the TAP goes with the host process that owned it");

        using (var host = await HostProcess.StartAsync(fixture.Root, fixture.SocketPath, inNamespace))
        {
            fixture.Connect();
            var client = fixture.Client;
            Assert.Equal(["inside", "uplink"], (await client.Networking.ListSwitchesAsync(new ListSwitchesRequest())).Switches.Select(s => s.Name));
            Assert.True(Exists("hs-inside"), "the restarted host creates the Internal switch's TAP again");
            await client.Networking.RemoveSwitchAsync(new RemoveSwitchRequest { Switch = new SwitchRef { Name = "inside" } });
            Assert.False(Exists("hs-inside"));
            Assert.True(Exists("hsup0"), "an External switch leaves its adapter in place");
            output.WriteLine(host.Log);
        }
    }
}
