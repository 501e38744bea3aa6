using Grpc.Core;
using HyperSharp.Api;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// PowerShell Direct's host call refuses what cannot work, saying why, before anything reaches a guest: no such VM, a
/// VM that is off, a running VM without an agent (an idle guest that has none). The session itself is proven with a
/// real guest in HyperSharp.PowerShell.Tests' PowerShellDirectGuestTests.
/// </summary>
public class GuestPowerShellApiTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Connect_refuses_a_missing_VM_one_that_is_off_and_one_whose_agent_does_not_answer()
    {
        await using var host = await HostFixture.StartAsync(output);
        string kernel = host.Guest("idle.elf", TestGuests.Idle());
        await host.CreateAsync("off", kernel);
        await host.CreateAsync("idle", kernel);
        await host.Client.StartVmAsync(new VmRef { Name = "idle" });
        using var channel = HostEndpoint.Connect(host.SocketPath);
        var client = new GuestPowerShell.GuestPowerShellClient(channel);

        async Task<RpcException> Refusal(PowerShellDirectInput first)
        {
            using var call = client.Connect();
            await call.RequestStream.WriteAsync(first);
            return await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(CancellationToken.None));
        }

        var missing = await Refusal(new PowerShellDirectInput { VmName = "nosuch" });
        Assert.Equal((StatusCode.NotFound, "no VM named 'nosuch' on this host"), (missing.StatusCode, missing.Status.Detail));
        var off = await Refusal(new PowerShellDirectInput { VmName = "off", UserName = "root", Password = "x" });
        Assert.Equal(StatusCode.FailedPrecondition, off.StatusCode);
        Assert.Equal("cannot open a PowerShell Direct session to VM 'off': it is Off; PowerShell Direct needs the VM running (Start-VM)", off.Status.Detail);
        var noAgent = await Refusal(new PowerShellDirectInput { VmId = (await host.Client.GetVmAsync(new VmRef { Name = "idle" })).Id });
        Assert.Equal(StatusCode.FailedPrecondition, noAgent.StatusCode);
        Assert.StartsWith("cannot open a PowerShell Direct session to VM 'idle': its guest agent is not answering (heartbeat: NoContact)", noAgent.Status.Detail);

        await host.Client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "idle" }, TurnOff = true });
    }
}
