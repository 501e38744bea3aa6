using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Settings this release records but does not act on yet (nested virtualization) are accepted
/// with a warning in the API's answer, which the CLI prints, never silently; a processor reserve is refused.
/// </summary>
public class UnappliedSettingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SettingsThatTakeNoEffectYetComeBackWithAWarning()
    {
        await using var host = await HostFixture.StartAsync(output);
        await host.CreateAsync("vm", host.Guest("idle.elf", TestGuests.Idle()), 32L << 20);
        var vm = new VmRef { Name = "vm" };

        var reserve = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await host.Client.SetProcessorAsync(new SetProcessorRequest { Vm = vm, Reserve = 10 }));
        Assert.Equal(Grpc.Core.StatusCode.FailedPrecondition, reserve.StatusCode);
        Assert.Contains("RelativeWeight", reserve.Status.Detail); // refused, with what to use instead
        var nested = await host.Client.SetProcessorAsync(new SetProcessorRequest { Vm = vm, ExposeVirtualizationExtensions = true });
        Assert.Contains("ExposeVirtualizationExtensions", Assert.Single(nested.Warnings, w => w.Contains("ExposeVirtualizationExtensions")));
        Assert.Empty((await host.Client.SetProcessorAsync(new SetProcessorRequest { Vm = vm, Reserve = 0, ExposeVirtualizationExtensions = false, RelativeWeight = 200 })).Warnings);

        var checkpoints = await host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = vm, CheckpointType = CheckpointType.ProductionOnly });
        Assert.Equal(CheckpointType.ProductionOnly, checkpoints.CheckpointType);
        Assert.Empty(checkpoints.Warnings); // production checkpoints are taken (through the guest agent's freeze)
        Assert.Empty((await host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = vm, CheckpointType = CheckpointType.Standard })).Warnings);
        Assert.Empty((await host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = vm, Notes = "n" })).Warnings);
        Assert.Empty((await host.Client.GetVmAsync(vm)).Warnings); // a warning answers the change, it is not a property of the VM

        var memory = await host.Client.SetMemoryAsync(new SetMemoryRequest { Vm = vm, DynamicMemoryEnabled = true, MinimumBytes = 32L << 20 });
        Assert.Empty(memory.Warnings); // the balancer acts on dynamic memory

        var cli = CliRunner.Run(output, "vm", "set", "vm", "--checkpoint-type", "Production", "--host-socket", host.SocketPath);
        Assert.Equal(0, cli.Exit);
        Assert.DoesNotContain("warning", cli.Error);
    }
}
