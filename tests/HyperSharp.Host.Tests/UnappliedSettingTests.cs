using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Settings this release records but does not act on yet (processor reserve, nested virtualization, production checkpoints,
/// dynamic memory) are accepted with a warning in the API's answer, which the CLI prints, never silently.
/// </summary>
public class UnappliedSettingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SettingsThatTakeNoEffectYetComeBackWithAWarning()
    {
        await using var host = await HostFixture.StartAsync(output);
        await host.CreateAsync("vm", host.Guest("idle.elf", TestGuests.Idle()), 32L << 20);
        var vm = new VmRef { Name = "vm" };

        var reserve = await host.Client.SetProcessorAsync(new SetProcessorRequest { Vm = vm, Reserve = 10 });
        Assert.Equal(10, reserve.Reserve);
        Assert.Contains("Reserve", Assert.Single(reserve.Warnings));
        var nested = await host.Client.SetProcessorAsync(new SetProcessorRequest { Vm = vm, ExposeVirtualizationExtensions = true });
        Assert.Contains("ExposeVirtualizationExtensions", Assert.Single(nested.Warnings, w => w.Contains("ExposeVirtualizationExtensions")));
        Assert.Empty((await host.Client.SetProcessorAsync(new SetProcessorRequest { Vm = vm, Reserve = 0, ExposeVirtualizationExtensions = false, RelativeWeight = 200 })).Warnings);

        var checkpoints = await host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = vm, CheckpointType = CheckpointType.ProductionOnly });
        Assert.Equal(CheckpointType.ProductionOnly, checkpoints.CheckpointType);
        Assert.Contains("CheckpointType", Assert.Single(checkpoints.Warnings));
        Assert.Empty((await host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = vm, CheckpointType = CheckpointType.Standard })).Warnings); // standard ones are taken
        Assert.Empty((await host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = vm, Notes = "n" })).Warnings);
        Assert.Empty((await host.Client.GetVmAsync(vm)).Warnings); // a warning answers the change, it is not a property of the VM

        var memory = await host.Client.SetMemoryAsync(new SetMemoryRequest { Vm = vm, DynamicMemoryEnabled = true, MinimumBytes = 32L << 20 });
        Assert.Contains("dynamic memory", Assert.Single(memory.Warnings));

        var cli = CliRunner.Run(output, "vm", "set", "vm", "--checkpoint-type", "Production", "--host-socket", host.SocketPath);
        Assert.Equal(0, cli.Exit);
        Assert.Contains("warning: CheckpointType", cli.Error);
    }
}
