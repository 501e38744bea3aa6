using System.Diagnostics;
using System.Text;
using HyperSharp.Hypervisor;
using HyperSharp.Machine.Firmware;

namespace HyperSharp.Machine.Tests.Firmware;

/// <summary>What a firmware VM printed: when each awaited marker appeared (null: not within its bound), its console, and why it stopped by itself (null: the test stopped it).</summary>
internal sealed record FirmwareRun(TimeSpan?[] SeenAt, string Console, VmStopped? StoppedByItself)
{
    public bool Saw(int marker) => SeenAt[marker] is not null;

    public string Time(int marker) => SeenAt[marker] is { } t ? $"{t.TotalSeconds:F1} s" : "never";
}

/// <summary>Runs firmware VMs and watches their consoles, each wait within a bound (no fixed sleeps: it polls the console it watches).</summary>
internal static class FirmwareConsole
{
    /// <summary>A 256 MiB Generation 1 VM that boots <paramref name="disk"/> (read-only, or none) through Debian's SeaBIOS, its console into <paramref name="console"/>.</summary>
    public static VirtualMachine Build(IHypervisor hypervisor, string? disk, StringBuilder console, Action<string> log) =>
        new VirtualMachineBuilder(hypervisor, new VmConfig
        {
            Firmware = new VmFirmware(SeaBiosEmulatedTests.BiosPath), MemorySize = 256UL << 20, Disks = disk is null ? [] : [new DiskAttachment(disk, ReadOnly: true)],
            ConsoleOutput = b => { lock (console) console.Append((char)b); }, Log = log,
        }).Build();

    /// <summary>Runs the VM until each marker in turn has appeared (or one has not within its bound, or the VM stopped), then stops it.</summary>
    public static async Task<FirmwareRun> RunAsync(VirtualMachine vm, StringBuilder console, params (string Text, TimeSpan Bound)[] markers)
    {
        var sw = Stopwatch.StartNew();
        var run = Task.Run(vm.Run);
        var seen = new TimeSpan?[markers.Length];
        for (int i = 0; i < markers.Length; i++)
        {
            if (!await WaitForAsync(console, markers[i].Text, run, markers[i].Bound)) break;
            seen[i] = sw.Elapsed;
        }
        VmStopped? byItself = run.IsCompleted ? await run : null;
        vm.Stop();
        await run;
        lock (console) return new FirmwareRun(seen, console.ToString(), byItself);
    }

    private static async Task<bool> WaitForAsync(StringBuilder console, string text, Task run, TimeSpan bound)
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
