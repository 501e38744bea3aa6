using Grpc.Core;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>One VM through its whole life on an in-process host with a real worker process.</summary>
public class VmLifecycleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task VmRunsInAWorkerPausesResumesSavesContinuesWhereItWasStopsAndIsRemoved()
    {
        await using var host = await HostFixture.StartAsync(output);
        var events = new List<VmEvent>();
        using var watch = host.Client.WatchEvents(new WatchEventsRequest());
        await watch.ResponseHeadersAsync;
        var collecting = Task.Run(async () =>
        {
            try { await foreach (var e in watch.ResponseStream.ReadAllAsync()) lock (events) events.Add(e); }
            catch (RpcException) { }
        });

        string kernel = host.Guest("counter.elf", TestGuests.Counter());
        var vm = await host.CreateAsync("counter", kernel);
        Assert.Equal(VmState.Off, vm.State);
        Assert.True(File.Exists(Path.Combine(vm.Path, "vm.json")));

        var running = await host.Client.StartVmAsync(new VmRef { Name = "counter" });
        Assert.Equal(VmState.Running, running.State);
        Assert.Contains(running.WorkerPid, host.Workers());

        // The console follows the guest; keep it open until the save ends the worker.
        var firstRun = host.ReadConsoleAsync("counter", _ => false, TimeSpan.FromSeconds(120));
        await WaitForAsync(async () => CounterOutput.Last(await host.ReadConsoleAsync("counter", t => CounterOutput.Last(t) >= 5, TimeSpan.FromSeconds(1))) >= 5, "five lines on the console");

        var live = await host.Client.GetVmAsync(new VmRef { Name = "counter" });
        output.WriteLine($"running: CPU {live.CpuUsagePercent} %, memory assigned {live.MemoryAssignedBytes} bytes, uptime {live.UptimeMs} ms");
        Assert.True(live.MemoryAssignedBytes > 0, "a running guest has touched some memory");
        Assert.True(live.UptimeMs > 0);
        Assert.True(live.CpuUsagePercent > 0, "the counting guest keeps a processor busy");

        Assert.Equal(VmState.Paused, (await host.Client.SuspendVmAsync(new VmRef { Name = "counter" })).State);
        long atPause = CounterOutput.Last(await Snapshot(host));
        await Task.Delay(500);
        Assert.Equal(atPause, CounterOutput.Last(await Snapshot(host)));
        var pausedUptime = (await host.Client.GetVmAsync(new VmRef { Name = "counter" })).UptimeMs;

        Assert.Equal(VmState.Running, (await host.Client.ResumeVmAsync(new VmRef { Name = "counter" })).State);
        await WaitForAsync(async () => CounterOutput.Last(await Snapshot(host)) > atPause, "counting again after resume");
        Assert.True((await host.Client.GetVmAsync(new VmRef { Name = "counter" })).UptimeMs >= pausedUptime);

        var saved = await host.Client.SaveVmAsync(new VmRef { Name = "counter" });
        Assert.Equal(VmState.Saved, saved.State);
        Assert.Equal(0, saved.WorkerPid);
        Assert.True(File.Exists(Path.Combine(vm.Path, "saved.state")));
        Assert.Empty(host.Workers());
        string before = await firstRun; // the stream ends with the worker
        output.WriteLine($"counted to {CounterOutput.Last(before):X} before the save");

        Assert.Equal(VmState.Running, (await host.Client.StartVmAsync(new VmRef { Name = "counter" })).State);
        Assert.False(File.Exists(Path.Combine(vm.Path, "saved.state")), "a running VM has no saved state");
        long target = CounterOutput.Last(before) + 10;
        string after = await host.ReadConsoleAsync("counter", t => CounterOutput.Last(before + t) >= target, TimeSpan.FromSeconds(60));
        CounterOutput.AssertConsecutiveFromOne(before + after); // the restored guest went on: no gap, no repeat

        var off = await host.Client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "counter" }, TurnOff = true });
        Assert.Equal(VmState.Off, off.State);
        Assert.Equal("turned off", off.LastOffReason);
        Assert.Empty(host.Workers());

        await host.Client.RemoveVmAsync(new RemoveVmRequest { Vm = new VmRef { Name = "counter" } });
        Assert.False(Directory.Exists(vm.Path));
        var missing = await Assert.ThrowsAsync<RpcException>(() => host.Client.GetVmAsync(new VmRef { Name = "counter" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);

        await host.StopHostAsync();
        await collecting;
        var states = events.Where(e => e.Kind == VmEventKind.StateChanged).Select(e => e.NewState).ToList();
        output.WriteLine(string.Join(" ", states));
        Assert.Equal([VmState.Starting, VmState.Running, VmState.Pausing, VmState.Paused, VmState.Resuming, VmState.Running, VmState.Saving, VmState.Saved,
            VmState.Starting, VmState.Running, VmState.Stopping, VmState.Off], states);
        Assert.Contains(events, e => e.Kind == VmEventKind.Created);
        Assert.Contains(events, e => e.Kind == VmEventKind.Removed);
    }

    private static Task<string> Snapshot(HostFixture host) => host.ReadConsoleAsync("counter", _ => false, TimeSpan.FromMilliseconds(300));

    internal static async Task WaitForAsync(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(100);
        }
    }
}
