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
        vm.Stop();
        await run;
        string log;
        lock (console) log = console.ToString();
        output.WriteLine($"{sw.Elapsed.TotalSeconds:F1} s:\n{log}");
        Assert.True(seen, "SeaBIOS did not report that nothing is bootable");
        Assert.Contains("SeaBIOS (version", log);
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
}
