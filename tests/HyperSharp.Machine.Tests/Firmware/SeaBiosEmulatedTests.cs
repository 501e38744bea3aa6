using System.Diagnostics;
using System.Text;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Machine.Firmware;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.Firmware;

/// <summary>
/// Debian's SeaBIOS (the seabios package's bios.bin, never one of ours) on the Emulated backend: the processor starts
/// at the reset vector, the firmware finds our fw_cfg, gets through POST on our chipset and prints on COM1.
/// </summary>
public class SeaBiosEmulatedTests(ITestOutputHelper output)
{
    internal const string BiosPath = "/usr/share/seabios/bios.bin";

    [Fact]
    public async Task SeaBiosPostsOnOurChipsetAndSaysThereIsNothingToBoot()
    {
        if (!File.Exists(BiosPath)) { output.WriteLine($"skipped: {BiosPath} is missing (install Debian's seabios package: eng/install-test-deps.sh)"); return; }
        var console = new StringBuilder();
        using var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), new VmConfig
        {
            Firmware = new VmFirmware(BiosPath), MemorySize = 128UL << 20,
            ConsoleOutput = b => { lock (console) console.Append((char)b); }, Log = output.WriteLine,
        }).Build();
        var sw = Stopwatch.StartNew();
        var run = Task.Run(vm.Run);
        bool seen = await FirmwareConsole.WaitForAsync(console, "No bootable device", run, TimeSpan.FromMinutes(5));
        string log = await FirmwareConsole.StopAsync(vm, run, console);
        output.WriteLine($"{sw.Elapsed.TotalSeconds:F1} s:\n{log}");
        Assert.True(seen, "SeaBIOS did not report that nothing is bootable");
        Assert.Contains("SeaBIOS (version", log);
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
            using var vm = new VirtualMachineBuilder(new EmulatedHypervisor(), new VmConfig
            {
                Firmware = new VmFirmware(BiosPath), MemorySize = 256UL << 20, Disks = [new DiskAttachment(disk, ReadOnly: true)],
                ConsoleOutput = b => { lock (console) console.Append((char)b); }, Log = output.WriteLine,
            }).Build();
            var sw = Stopwatch.StartNew();
            var run = Task.Run(vm.Run);
            bool loader = await FirmwareConsole.WaitForAsync(console, "Loading /vmlinuz", run, TimeSpan.FromMinutes(3));
            var toLoader = sw.Elapsed;
            bool init = loader && await FirmwareConsole.WaitForAsync(console, "HYPERSHARP-INIT-READY", run, TimeSpan.FromMinutes(7));
            var toInit = sw.Elapsed;
            string log = await FirmwareConsole.StopAsync(vm, run, console);
            output.WriteLine($"boot loader after {toLoader.TotalSeconds:F1} s, /init after {toInit.TotalSeconds:F1} s:\n{log}");
            Assert.True(loader, "SeaBIOS did not start the boot loader from the disk");
            Assert.True(init, "the kernel the boot loader loaded did not reach the guest kit's /init");
            Assert.Contains("Booting from Hard Disk", log);
        }
        finally { Directory.Delete(dir, true); }
    }
}

/// <summary>Waits for text on a VM's console while the VM runs, within a bound (no fixed sleeps: it polls the console it watches).</summary>
internal static class FirmwareConsole
{
    public static async Task<bool> WaitForAsync(StringBuilder console, string text, Task run, TimeSpan bound)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < bound && !run.IsCompleted)
        {
            lock (console) if (console.ToString().Contains(text, StringComparison.Ordinal)) return true;
            await Task.WhenAny(run, Task.Delay(200));
        }
        lock (console) return console.ToString().Contains(text, StringComparison.Ordinal);
    }

    /// <summary>Stops the VM, waits for its run to end and returns what its console printed.</summary>
    public static async Task<string> StopAsync(VirtualMachine vm, Task run, StringBuilder console)
    {
        vm.Stop();
        await run;
        lock (console) return console.ToString();
    }
}
