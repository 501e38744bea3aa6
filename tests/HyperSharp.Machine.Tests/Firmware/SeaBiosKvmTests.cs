using System.Text;
using HyperSharp.Hypervisor.Kvm;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.Firmware;

/// <summary>
/// Debian's SeaBIOS on the Kvm backend: from the reset vector through POST to the boot loader it starts from the disk.
/// On this machine's paravirtual KVM (kvm_pvm) real mode and CPL0 are emulated by the host kernel, so the test measures;
/// there the boot loader stops once it has printed its banner (KVM's instruction emulation fails in it), so the kernel it
/// would load is not required here (the Emulated backend's test boots it to /init).
/// </summary>
public class SeaBiosKvmTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SeaBiosPostsAndHandsOverToTheBootLoaderOnKvm()
    {
        if (!File.Exists(SeaBiosEmulatedTests.BiosPath)) { output.WriteLine($"skipped: {SeaBiosEmulatedTests.BiosPath} is missing (install Debian's seabios package)"); return; }
        using var kvm = new KvmHypervisor();
        if (!kvm.Availability.IsAvailable) { output.WriteLine("skipped: /dev/kvm unusable: " + kvm.Availability.Reason); return; }
        string dir = Directory.CreateTempSubdirectory("hs-bios-kvm").FullName;
        try
        {
            if (BiosDisk.Build(Path.Combine(dir, "boot.raw"), out string why) is not { } disk) { output.WriteLine("skipped: " + why); return; }
            var console = new StringBuilder();
            using var vm = FirmwareConsole.Build(kvm, disk, console, output.WriteLine);
            var run = await FirmwareConsole.RunAsync(vm, console, ("SeaBIOS (version", TimeSpan.FromMinutes(4)), ("SYSLINUX", TimeSpan.FromMinutes(5)), ("Loading /vmlinuz", TimeSpan.FromSeconds(30)));
            output.WriteLine($"Kvm: banner after {run.Time(0)}, boot loader after {run.Time(1)}, kernel loading after {run.Time(2)}{(run.StoppedByItself is { } s ? $"; the VM stopped: {s}" : "")}:\n{run.Console}");
            Assert.True(run.Saw(0), "SeaBIOS printed no banner on the Kvm backend");
            Assert.True(run.Saw(1), "SeaBIOS did not start the boot loader on the Kvm backend");
        }
        finally { Directory.Delete(dir, true); }
    }
}
