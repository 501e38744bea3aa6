using System.Text;
using HyperSharp.Hypervisor.Emulated.Backend;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.Firmware;

/// <summary>
/// Debian's SeaBIOS (the seabios package's bios.bin, never one of ours) on the Emulated backend: the processor starts
/// at the reset vector, the firmware finds our fw_cfg, gets through POST on our chipset, prints on COM1 and boots the
/// disk it is given.
/// </summary>
public class SeaBiosEmulatedTests(ITestOutputHelper output)
{
    internal const string BiosPath = "/usr/share/seabios/bios.bin";

    [Fact]
    public async Task SeaBiosPostsOnOurChipsetAndSaysThereIsNothingToBoot()
    {
        if (!File.Exists(BiosPath)) { output.WriteLine($"skipped: {BiosPath} is missing (install Debian's seabios package: eng/install-test-deps.sh)"); return; }
        var console = new StringBuilder();
        using var vm = FirmwareConsole.Build(new EmulatedHypervisor(), null, console, output.WriteLine);
        var run = await FirmwareConsole.RunAsync(vm, console, ("No bootable device", TimeSpan.FromMinutes(5)));
        output.WriteLine($"{run.Time(0)}:\n{run.Console}");
        Assert.True(run.Saw(0), "SeaBIOS did not report that nothing is bootable");
        Assert.Contains("SeaBIOS (version", run.Console);
    }

    [Fact]
    public async Task AVmBootsTheGuestKitFromItsOwnDiskThroughSeaBios()
    {
        if (!File.Exists(BiosPath)) { output.WriteLine($"skipped: {BiosPath} is missing (install Debian's seabios package: eng/install-test-deps.sh)"); return; }
        string dir = Directory.CreateTempSubdirectory("hs-bios").FullName;
        try
        {
            if (BiosDisk.Build(Path.Combine(dir, "boot.raw"), out string why) is not { } disk) { output.WriteLine("skipped: " + why); return; }
            var console = new StringBuilder();
            using var vm = FirmwareConsole.Build(new EmulatedHypervisor(), disk, console, output.WriteLine);
            var run = await FirmwareConsole.RunAsync(vm, console, ("Loading /vmlinuz", TimeSpan.FromMinutes(3)), ("HYPERSHARP-INIT-READY", TimeSpan.FromMinutes(7)));
            output.WriteLine($"boot loader after {run.Time(0)}, /init after {run.Time(1)}:\n{run.Console}");
            Assert.True(run.Saw(0), "SeaBIOS did not start the boot loader from the disk");
            Assert.True(run.Saw(1), "the kernel the boot loader loaded did not reach the guest kit's /init");
            Assert.Contains("Booting from Hard Disk", run.Console);
        }
        finally { Directory.Delete(dir, true); }
    }
}
