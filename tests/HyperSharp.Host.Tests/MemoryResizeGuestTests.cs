using System.Diagnostics;
using System.Text.RegularExpressions;
using HyperSharp.Api.V1;
using HyperSharp.Machine.Tests;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Set-VMMemory -StartupBytes on a running Debian guest (Emulated backend) through the host's API: a 256 MiB VM with
/// runtime resize grows to 1.25 GiB (its MemTotal grows by 1 GiB: hot-add) and shrinks back to 256 MiB (the hot-added
/// memory is unplugged, MemTotal falls back); Get-VM's MemoryAssigned and the stored startup memory follow each step, and
/// MemoryDemand comes from the guest's balloon statistics.
/// </summary>
public class MemoryResizeGuestTests(ITestOutputHelper output)
{
    private const long Boot = 256L << 20, Grown = Boot + (1L << 30);

    // The guest waits for what the host does by watching its own MemTotal; each step says what it saw.
    private const string Script = """
        mt() { sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
        t0=$(mt)
        echo "TEST-MEM-READY total=$t0 drivers=$(ls /sys/bus/virtio/drivers | tr '\n' ' ') ."
        while [ "$(mt)" -le $((t0 + 1000000)) ]; do sleep 0.1; done
        echo "TEST-GREW total=$(mt) ."
        while [ "$(mt)" -gt $((t0 + 4096)) ]; do sleep 0.1; done
        echo "TEST-SHRUNK total=$(mt) ."
        sleep 3600
        """;

    private static Func<string, bool> Line(string marker) => text => Regex.IsMatch(text, marker + @" total=\d+ .* ?\.");

    private static long Kb(string console, string marker) => long.Parse(Regex.Match(console, marker + @" total=(\d+)").Groups[1].Value);

    [Fact]
    public async Task ARunningDebianGuestGrowsByOneGibibyteAndShrinksBackAndGetVmFollows()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        await using var host = await HostFixture.StartAsync(output);
        string initrd = GuestOverlay.Build(kit, host.Root, new Dictionary<string, string> { ["50-memory.sh"] = Script });
        var vm = new VmRef { Name = "debian" };
        await host.Client.CreateVmAsync(new CreateVmRequest
        {
            Name = "debian", MemoryStartupBytes = Boot, Backend = "emulated",
            Boot = new BootSource { KernelPath = Path.Combine(kit, "vmlinuz"), InitrdPath = initrd, KernelCommandLine = "console=ttyS0" },
        });
        var settings = await host.Client.SetMemoryAsync(new SetMemoryRequest { Vm = vm, RuntimeResizeEnabled = true });
        Assert.True(settings.HotAddBytes >= Grown - Boot, $"hot-add room {settings.HotAddBytes}");
        await host.Client.StartVmAsync(vm);
        try
        {
            string console = await host.ReadConsoleAsync("debian", Line("TEST-MEM-READY"), TimeSpan.FromSeconds(420));
            Assert.True(Line("TEST-MEM-READY")(console), console);
            Assert.Contains("virtio_mem", console);
            long total0 = Kb(console, "TEST-MEM-READY");
            Assert.Equal(Boot, (await host.Client.GetVmAsync(vm)).MemoryAssignedBytes);

            var clock = Stopwatch.StartNew();
            var grown = await host.Client.SetMemoryAsync(new SetMemoryRequest { Vm = vm, StartupBytes = Grown, WaitSeconds = 300 });
            var answered = clock.Elapsed;
            console = await host.ReadConsoleAsync("debian", Line("TEST-GREW"), TimeSpan.FromSeconds(180));
            output.WriteLine($"grow: answered in {answered.TotalSeconds:F2} s, the guest saw it in {clock.Elapsed.TotalSeconds:F2} s; {string.Join(" ", grown.Warnings)}");
            Assert.Equal((Grown, 0L), (grown.AssignedBytes, grown.UnreachedBytes));
            Assert.Equal(Grown, grown.StartupBytes);
            Assert.InRange(Kb(console, "TEST-GREW") - total0, 1_000_000, 1_048_576);
            var live = await host.Client.GetVmAsync(vm);
            Assert.Equal((Grown, Grown), (live.MemoryAssignedBytes, live.MemoryStartupBytes));
            // MemoryDemand: each look asks the guest's balloon driver for fresh statistics, which come with a later look.
            var statistics = Stopwatch.StartNew();
            while (live.MemoryDemandBytes == 0 && statistics.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(200);
                live = await host.Client.GetVmAsync(vm);
            }
            output.WriteLine($"MemoryDemand {live.MemoryDemandBytes >> 20} MiB after {statistics.Elapsed.TotalSeconds:F1} s; MemoryStatus '{live.MemoryStatus}'");
            Assert.InRange(live.MemoryDemandBytes, 1, Grown);
            Assert.Equal("", live.MemoryStatus); // static memory

            clock.Restart();
            var shrunk = await host.Client.SetMemoryAsync(new SetMemoryRequest { Vm = vm, StartupBytes = Boot, WaitSeconds = 300 });
            console = await host.ReadConsoleAsync("debian", Line("TEST-SHRUNK"), TimeSpan.FromSeconds(180));
            output.WriteLine($"shrink: answered in {clock.Elapsed.TotalSeconds:F2} s: {shrunk.AssignedBytes >> 20} MiB, {shrunk.UnreachedBytes >> 20} MiB not given back");
            Assert.Equal((Boot, 0L), (shrunk.AssignedBytes, shrunk.UnreachedBytes));
            Assert.True(Kb(console, "TEST-SHRUNK") <= total0 + 4096, console);
            Assert.Equal(Boot, (await host.Client.GetVmAsync(vm)).MemoryAssignedBytes);
            Assert.Equal(Boot, (await host.Client.GetMemoryAsync(vm)).StartupBytes);
        }
        finally
        {
            await host.Client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
        }
    }
}
