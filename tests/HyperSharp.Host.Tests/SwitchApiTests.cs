using Grpc.Core;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// New-/Get-/Set-/Remove-VMSwitch through the API on an in-process host: switches survive a host restart with their
/// ids and settings; a switch whose host side cannot be set up is refused (FAILED_PRECONDITION naming the interface)
/// and leaves nothing behind. Only Private switches and interfaces that cannot be created here: no interface of the
/// machine is touched (the Internal switch with a real TAP is in NetworkAdapterGuestTests, inside a namespace).
/// </summary>
public class SwitchApiTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SwitchesAreCreatedChangedAndRemovedAndSurviveAHostRestart()
    {
        await using var host = await HostFixture.StartAsync(output);
        var lab = await host.Client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "lab", Notes = "test bench" });
        Assert.Equal((SwitchType.Private, "lab", "test bench"), (lab.SwitchType, lab.Name, lab.Notes));
        Assert.True(Guid.TryParse(lab.Id, out _));
        await host.Client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "backend", SwitchType = SwitchType.Private });

        var duplicate = await Assert.ThrowsAsync<RpcException>(() => host.Client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "LAB" }).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, duplicate.StatusCode);
        var renamed = await host.Client.Networking.UpdateSwitchAsync(new UpdateSwitchRequest { Switch = new SwitchRef { Name = "lab" }, NewName = "lab2", Notes = "moved" });
        Assert.Equal((lab.Id, "lab2", "moved"), (renamed.Id, renamed.Name, renamed.Notes));
        Assert.Equal(["backend"], (await host.Client.Networking.ListSwitchesAsync(new ListSwitchesRequest { Name = "b*" })).Switches.Select(s => s.Name));

        await host.StopHostAsync();
        await host.StartHostAsync();
        var after = (await host.Client.Networking.ListSwitchesAsync(new ListSwitchesRequest())).Switches;
        Assert.Equal(["backend", "lab2"], after.Select(s => s.Name));
        var lab2 = await host.Client.Networking.GetSwitchAsync(new SwitchRef { Id = lab.Id });
        Assert.Equal(("lab2", "moved", SwitchType.Private), (lab2.Name, lab2.Notes, lab2.SwitchType));

        await host.Client.Networking.RemoveSwitchAsync(new RemoveSwitchRequest { Switch = new SwitchRef { Name = "backend" } });
        var gone = await Assert.ThrowsAsync<RpcException>(() => host.Client.Networking.GetSwitchAsync(new SwitchRef { Name = "backend" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
        await host.StopHostAsync();
        await host.StartHostAsync();
        Assert.Equal(["lab2"], (await host.Client.Networking.ListSwitchesAsync(new ListSwitchesRequest())).Switches.Select(s => s.Name));
    }

    [Fact]
    public async Task ASwitchWhoseHostSideCannotBeSetUpIsRefusedAndLeavesNothing()
    {
        await using var host = await HostFixture.StartAsync(output);
        string config = Path.Combine(host.Root, "network.json");

        // An uplink to an adapter this host does not have.
        var external = await Assert.ThrowsAsync<RpcException>(() => host.Client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "ext", NetAdapterName = "hs-nosuch0" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, external.StatusCode);
        Assert.Contains("hs-nosuch0", external.Status.Detail);
        // A TAP whose name an interface already has (the loopback is always there): refused before anything is created.
        var taken = await Assert.ThrowsAsync<RpcException>(() => host.Client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "int", SwitchType = SwitchType.Internal, HostInterfaceName = "lo" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, taken.StatusCode);
        Assert.Contains("lo", taken.Status.Detail);
        output.WriteLine(external.Status.Detail);
        output.WriteLine(taken.Status.Detail);
        Assert.Empty((await host.Client.Networking.ListSwitchesAsync(new ListSwitchesRequest())).Switches);
        Assert.False(File.Exists(config), "a refused switch must not be written to the configuration");

        await ValidationTests.Invalid("net_adapter_name", "External", () => host.Client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "p", SwitchType = SwitchType.Private, NetAdapterName = "eth0" }).ResponseAsync);
        await ValidationTests.Invalid("net_adapter_name", "needs the host adapter", () => host.Client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "e", SwitchType = SwitchType.External }).ResponseAsync);
        await ValidationTests.Invalid("host_interface_name", "1 to 15 characters", () => host.Client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "i", SwitchType = SwitchType.Internal, HostInterfaceName = "a-name-far-too-long" }).ResponseAsync);
        await ValidationTests.Invalid("name", "may not have", () => host.Client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "a*b" }).ResponseAsync);
        await ValidationTests.Invalid("switch_type", "Private, Internal or External", () => host.Client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "x", SwitchType = (SwitchType)9 }).ResponseAsync);
        Assert.Empty((await host.Client.Networking.ListSwitchesAsync(new ListSwitchesRequest())).Switches);
    }
}
