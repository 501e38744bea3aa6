using System.Diagnostics;
using HyperSharp.Api.V1;
using HyperSharp.Machine;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// Set-VMProcessor -EnableHostResourceProtection: a guest that hammers a device port (the counter guest reading COM1's
/// line status register between lines) is held to its share of device accesses once protected, and the host publishes
/// a Throttled event saying so; the pacing itself is checked without a guest.
/// </summary>
public class HostResourceProtectionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(3);
    private const int ReadsPerLine = 2_000; // device reads per counter line


    [Fact]
    public void The_share_is_paced_after_a_burst_and_each_episode_is_reported_once()
    {
        var reports = new List<string>();
        var guard = new HostResourceProtection(1, reports.Add);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 2_000; i++) guard.Charge(() => false);
        // 200 in the 10 ms burst, 1,800 more at 20,000 a second: at least 90 ms.
        output.WriteLine($"2,000 accesses in {clock.Elapsed.TotalMilliseconds:F0} ms; waited {guard.Throttled.TotalMilliseconds:F0} ms");
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(80), $"2,000 accesses took only {clock.Elapsed.TotalMilliseconds:F0} ms");
        Assert.Single(reports);
        Assert.Contains("20000", reports[0]);
        // A stop ends the wait at once.
        var stopping = Stopwatch.StartNew();
        for (int i = 0; i < 10_000; i++) guard.Charge(() => true);
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(1), "charges kept a stopping vCPU waiting");
    }

    [Fact]
    public async Task A_guest_hammering_a_device_is_held_to_its_share_and_the_host_says_so()
    {
        await using var host = await HostFixture.StartAsync(output);
        var vm = new VmRef { Name = "storm" };
        await host.CreateAsync("storm", host.Guest("storm.elf", TestGuests.Counter(ReadsPerLine, readPortInDelay: true)));

        await host.Client.StartVmAsync(vm);
        double free = await RateAsync(host);
        await host.Client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });

        var p = await host.Client.SetProcessorAsync(new SetProcessorRequest { Vm = vm, EnableHostResourceProtection = true });
        Assert.True(p.EnableHostResourceProtection);
        Assert.True((await host.Client.GetProcessorAsync(vm)).EnableHostResourceProtection);
        using var events = host.Client.WatchEvents(new WatchEventsRequest());
        await events.ResponseHeadersAsync;
        await host.Client.StartVmAsync(vm);
        // Like Hyper-V, the setting is taken at the VM's start: a running VM refuses the change.
        var running = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
            await host.Client.SetProcessorAsync(new SetProcessorRequest { Vm = vm, EnableHostResourceProtection = false }));
        Assert.Equal(Grpc.Core.StatusCode.FailedPrecondition, running.StatusCode);
        var throttled = await NextThrottledAsync(events.ResponseStream);
        double held = await RateAsync(host);

        // Each line is ReadsPerLine reads and 9 writes; the share is 20,000 accesses a second for its one vCPU, plus a
        // 10 ms burst per window at most.
        double bound = HostResourceProtection.ExitsPerVcpuPerSecond * 1.1 / (ReadsPerLine + 9);
        output.WriteLine($"{ReadsPerLine} device reads a line: {free:F1} lines/s free, {held:F1} under protection (bound {bound:F1}); event: {throttled}");
        Assert.Contains("host resource protection", throttled);
        Assert.True(held <= bound, $"under protection the guest made {held * (ReadsPerLine + 9):F0} device accesses a second");
        Assert.True(held > 0, "under protection the guest made no progress at all");
        Assert.True(free > 2 * bound, $"free, the guest made only {free * (ReadsPerLine + 9):F0} device accesses a second: nothing to hold back");
        await host.Client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
    }

    /// <summary>The guest's counter lines a second over <see cref="Window"/>, after a first window of warm-up.</summary>
    private static async Task<double> RateAsync(HostFixture host)
    {
        long first = 0;
        var clock = Stopwatch.StartNew();
        var start = TimeSpan.Zero;
        for (int window = 0; window < 2; window++)
        {
            first = CounterOutput.Last(await host.ReadConsoleAsync("storm", t => CounterOutput.Last(t) > first, TimeSpan.FromSeconds(60)));
            start = clock.Elapsed;
            await Task.Delay(Window); // a measuring window, not a wait for a state: the rate is what is measured
        }
        long last = CounterOutput.Last(await host.ReadConsoleAsync("storm", t => CounterOutput.Last(t) > first, TimeSpan.FromSeconds(60)));
        return (last - first) / (clock.Elapsed - start).TotalSeconds;
    }

    private static async Task<string> NextThrottledAsync(Grpc.Core.IAsyncStreamReader<VmEvent> stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await stream.MoveNext(timeout.Token))
            if (stream.Current.Kind == VmEventKind.Throttled) return $"{stream.Current.VmName}: {stream.Current.Message}";
        throw new InvalidOperationException("the event stream ended without a Throttled event");
    }
}
