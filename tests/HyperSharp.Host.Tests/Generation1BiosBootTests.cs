using HyperSharp.Api.V1;
using HyperSharp.Machine.Tests.Firmware;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// New-VM -Generation 1 with a boot disk and no kernel, through the host: the VM's configuration says it boots through
/// the BIOS, Get-VM shows Generation 1 and the firmware, and its worker (Emulated backend) boots SeaBIOS, which boots the
/// guest kit from the disk to its /init.
/// </summary>
public class Generation1BiosBootTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AGeneration1VmWithOnlyADiskBootsItThroughSeaBios()
    {
        if (!File.Exists(HyperSharp.Machine.Firmware.VmFirmware.SeaBios)) { output.WriteLine("skipped: Debian's seabios package is not installed (eng/install-test-deps.sh)"); return; }
        await using var host = await HostFixture.StartAsync(output);
        if (BiosDisk.Build(Path.Combine(host.Root, "boot.raw"), out string why) is not { } disk) { output.WriteLine("skipped: " + why); return; }

        var created = await host.Client.CreateVmAsync(new CreateVmRequest { Name = "gen1", Generation = 1, MemoryStartupBytes = 256L << 20, Backend = "emulated", VhdPath = disk });
        Assert.Equal(1, created.Generation);
        Assert.Equal("bios", created.Boot.Firmware);
        Assert.Equal("", created.Boot.KernelPath);

        await host.Client.StartVmAsync(new VmRef { Name = "gen1" });
        string console = await host.ReadConsoleAsync("gen1", t => t.Contains("HYPERSHARP-INIT-READY"), TimeSpan.FromSeconds(540));
        output.WriteLine(console);
        Assert.Contains("SeaBIOS (version", console);
        Assert.Contains("HYPERSHARP-INIT-READY", console);
        var listed = Assert.Single((await host.Client.ListVmsAsync(new ListVmsRequest { Name = "gen1" })).Vms);
        Assert.Equal((1, "bios"), (listed.Generation, listed.Boot.Firmware));
        await host.Client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "gen1" }, TurnOff = true });
    }

    [Fact]
    public async Task BiosFirmwareIsRefusedForGeneration2()
    {
        await using var host = await HostFixture.StartAsync(output);
        var e = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
            await host.Client.CreateVmAsync(new CreateVmRequest { Name = "gen2", Generation = 2, Boot = new BootSource { Firmware = "bios" } }));
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("Generation 1", e.Message);
    }
}
