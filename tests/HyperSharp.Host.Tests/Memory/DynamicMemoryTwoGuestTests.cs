using System.Diagnostics;
using HyperSharp.Api.V1;
using HyperSharp.Machine.Tests;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests.Memory;

/// <summary>
/// Two Debian guests with Dynamic Memory on one host (Emulated backend), one busy and one idle: the balancer takes each to
/// its own target — its demand plus its buffer, within its minimum and maximum, as Hyper-V defines it — and keeps them
/// there. The expected figure is computed here from what Get-VM reports, not by the balancer's code.
/// </summary>
public class DynamicMemoryTwoGuestTests(ITestOutputHelper output)
{
    private const long MiB = DynamicMemoryGuest.MiB, Startup = DynamicMemoryGuest.Startup, Minimum = DynamicMemoryGuest.Minimum, Maximum = DynamicMemoryGuest.Maximum;

    // The busy guest claims 640 MiB (see DynamicMemoryGuest.Workload; its buffer is 50% so the spare memory covers a
    // step), then holds it; the idle one only boots.
    private const string Busy = """
        echo "TEST-DM2-BOOTED ."
        fill 20
        echo "TEST-DM2-HOLDING ."
        sleep 3600
        """;

    private const string Idle = """
        echo "TEST-DM2-BOOTED ."
        sleep 3600
        """;

    /// <summary>Hyper-V's rule: demand plus buffer percent of it, never below the minimum nor above the maximum.</summary>
    private static long Expected(Vm vm, int buffer) =>
        Math.Clamp(vm.MemoryDemandBytes + vm.MemoryDemandBytes * buffer / 100, Minimum, Maximum);

    /// <summary>Near enough: the balancer moves memory in 2 MiB steps and leaves alone moves under 32 MiB or 1/32 of the VM.</summary>
    private static bool AtTarget(Vm vm, int buffer)
    {
        long expected = Expected(vm, buffer);
        return vm.MemoryDemandBytes > 0 && Math.Abs(vm.MemoryAssignedBytes - expected) <= Math.Max(48 * MiB, expected / 16);
    }

    [Fact]
    public async Task Two_guests_with_different_demand_converge_to_their_own_targets()
    {
        var (kit, why) = GuestKit.Get();
        if (kit is null) { output.WriteLine("skipped: " + why); return; }
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(11)); // inside CI's 15-minute limit per test
        await using var host = await HostFixture.StartAsync(output);
        var busy = await DynamicMemoryGuest.CreateAsync(host, kit, "busy", Busy, buffer: 50, priority: 80);
        var idle = await DynamicMemoryGuest.CreateAsync(host, kit, "idle", Idle, buffer: 20, priority: 50);
        try
        {
            await host.Client.StartVmAsync(busy);
            await host.Client.StartVmAsync(idle);
            foreach (var name in new[] { "busy", "idle" })
            {
                string booted = await host.ReadConsoleAsync(name, t => t.Contains("TEST-DM2-BOOTED ."), TimeSpan.FromSeconds(420));
                Assert.Contains("TEST-DM2-BOOTED .", booted);
            }
            var clock = Stopwatch.StartNew();
            string holding = await host.ReadConsoleAsync("busy", t => t.Contains("TEST-DM2-HOLDING ."), TimeSpan.FromSeconds(300));
            Assert.Contains("TEST-DM2-HOLDING .", holding);
            output.WriteLine($"the busy guest holds 640 MiB after {clock.Elapsed.TotalSeconds:F1} s");

            // Both at their targets in the same Get-VM round, twice in a row (settled, not passing through).
            clock.Restart();
            int settled = 0;
            Vm b, i;
            do
            {
                if (clock.Elapsed > TimeSpan.FromMinutes(3))
                    Assert.Fail($"not converged in {clock.Elapsed.TotalSeconds:F0} s: {DynamicMemoryGuest.Describe(await host.Client.GetVmAsync(busy))}; {DynamicMemoryGuest.Describe(await host.Client.GetVmAsync(idle))}");
                await Task.Delay(500, deadline.Token);
                b = await host.Client.GetVmAsync(busy, cancellationToken: deadline.Token);
                i = await host.Client.GetVmAsync(idle, cancellationToken: deadline.Token);
                settled = AtTarget(b, 50) && AtTarget(i, 20) ? settled + 1 : 0;
            } while (settled < 2);
            output.WriteLine($"converged after {clock.Elapsed.TotalSeconds:F1} s: {DynamicMemoryGuest.Describe(b)} (expected {Expected(b, 50) / MiB}); " +
                             $"{DynamicMemoryGuest.Describe(i)} (expected {Expected(i, 20) / MiB})");
            Assert.True(b.MemoryDemandBytes > 640 * MiB, DynamicMemoryGuest.Describe(b));
            Assert.True(b.MemoryAssignedBytes > Startup + 256 * MiB, $"the busy guest was not given memory: {DynamicMemoryGuest.Describe(b)}");
            Assert.True(i.MemoryAssignedBytes < Startup, $"the idle guest kept memory it does not use: {DynamicMemoryGuest.Describe(i)}");
        }
        finally
        {
            await host.Client.StopVmAsync(new StopVmRequest { Vm = busy, TurnOff = true });
            await host.Client.StopVmAsync(new StopVmRequest { Vm = idle, TurnOff = true });
        }
    }

}
