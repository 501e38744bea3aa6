using System.Diagnostics;
using System.Text.RegularExpressions;
using HyperSharp.Api.V1;
using HyperSharp.Machine.Tests;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests.Memory;

/// <summary>
/// Dynamic Memory with the host's balancer and a Debian guest (Emulated backend): a 512 MiB VM (minimum 256 MiB, maximum
/// 1.5 GiB) that idles is taken down toward its minimum; a workload that needs 900 MiB gets it (with half as much again as its buffer) — the guest's MemTotal grows
/// past what it booted with, by hot-add, with no one calling Set-VMMemory; once the guest frees it, the hot-added memory is
/// unplugged again. Get-VM's MemoryAssigned, MemoryDemand and MemoryStatus follow.
/// </summary>
public class DynamicMemoryGuestTests(ITestOutputHelper output)
{
    private const long MiB = DynamicMemoryGuest.MiB, Startup = DynamicMemoryGuest.Startup, Minimum = DynamicMemoryGuest.Minimum, Maximum = DynamicMemoryGuest.Maximum;

    // After its first line the guest idles until the balancer has taken 128 MiB, then claims 896 MiB (see
    // DynamicMemoryGuest.Workload), frees it and waits for the hot-added memory to be unplugged. It stays up until the test ends.
    private const string Script = """
        t0=$(mt); a0=$(ma)
        echo "TEST-DM-READY total=$t0 available=$a0 ."
        while [ "$(ma)" -gt $((a0 - 131072)) ]; do sleep 0.2; done
        echo "TEST-DM-SHRUNK-IDLE total=$(mt) available=$(ma) ."
        fill 28
        echo "TEST-DM-FILLED total=$(mt) available=$(ma) ."
        rm -f /mnt/fill/f*
        while [ "$(mt)" -gt $((t0 + 4096)) ]; do sleep 0.2; done
        echo "TEST-DM-GAVE-BACK total=$(mt) available=$(ma) ."
        sleep 3600
        """;

    private static Func<string, bool> Line(string marker) => text => Regex.IsMatch(text, marker + @" total=\d+ available=\d+ \.");

    private static long Kb(string console, string marker) => long.Parse(Regex.Match(console, marker + @" total=(\d+)").Groups[1].Value);

    [Fact]
    public async Task The_balancer_gives_a_busy_guest_memory_and_takes_it_back_when_the_guest_frees_it()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(11)); // inside CI's 15-minute limit per test
        await using var host = await HostFixture.StartAsync(output);
        var vm = await DynamicMemoryGuest.CreateAsync(host, kit, "dynamic", Script, buffer: 50);
        await host.Client.StartVmAsync(vm);
        try
        {
            string console = await host.ReadConsoleAsync("dynamic", Line("TEST-DM-READY"), TimeSpan.FromSeconds(420));
            Assert.True(Line("TEST-DM-READY")(console), console);
            long total0 = Kb(console, "TEST-DM-READY");

            var clock = Stopwatch.StartNew();
            var idle = await DynamicMemoryGuest.UntilAsync(host.Client, vm, v => v.MemoryAssignedBytes <= Minimum + 64 * MiB, "the idle guest taken toward its minimum", deadline.Token);
            output.WriteLine($"idle: assigned {idle.MemoryAssignedBytes / MiB} MiB, demand {idle.MemoryDemandBytes / MiB} MiB after {clock.Elapsed.TotalSeconds:F1} s");
            Assert.InRange(idle.MemoryAssignedBytes, Minimum, Startup - 64 * MiB);
            console = await host.ReadConsoleAsync("dynamic", Line("TEST-DM-SHRUNK-IDLE"), TimeSpan.FromSeconds(120));
            Assert.True(Line("TEST-DM-SHRUNK-IDLE")(console), console);

            clock.Restart();
            console = await host.ReadConsoleAsync("dynamic", Line("TEST-DM-FILLED"), TimeSpan.FromSeconds(300));
            Assert.True(Line("TEST-DM-FILLED")(console), console);
            long grownKb = Kb(console, "TEST-DM-FILLED");
            output.WriteLine($"900 MiB workload done in {clock.Elapsed.TotalSeconds:F1} s: MemTotal {total0 / 1024} -> {grownKb / 1024} MiB");
            Assert.True(grownKb > total0 + 256 * 1024, $"MemTotal {total0} kB -> {grownKb} kB: the balancer did not hot-add");
            var busy = await host.Client.GetVmAsync(vm);
            output.WriteLine($"busy: assigned {busy.MemoryAssignedBytes / MiB} MiB, demand {busy.MemoryDemandBytes / MiB} MiB, status '{busy.MemoryStatus}'");
            Assert.InRange(busy.MemoryAssignedBytes, Startup + 256 * MiB, Maximum);

            clock.Restart();
            console = await host.ReadConsoleAsync("dynamic", Line("TEST-DM-GAVE-BACK"), TimeSpan.FromSeconds(300));
            Assert.True(Line("TEST-DM-GAVE-BACK")(console), console);
            var freed = await DynamicMemoryGuest.UntilAsync(host.Client, vm, v => v.MemoryAssignedBytes <= Startup, "the freed memory taken back", deadline.Token);
            output.WriteLine($"freed: MemTotal back to {Kb(console, "TEST-DM-GAVE-BACK") / 1024} MiB, assigned {freed.MemoryAssignedBytes / MiB} MiB after {clock.Elapsed.TotalSeconds:F1} s");
            Assert.InRange(freed.MemoryAssignedBytes, Minimum, Startup);
            Assert.Equal(Startup, (await host.Client.GetMemoryAsync(vm)).StartupBytes); // the balancer never rewrites the configuration
        }
        finally
        {
            await host.Client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
        }
    }
}
