using Grpc.Core;
using HyperSharp.Api;
using HyperSharp.Api.V1;
using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>Workers as separate processes: racing starts, a killed worker, a host that restarts under running VMs, a guest that powers off.</summary>
public class WorkerSupervisionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TwoClientsStartingTheSameVmOneWinsTheOtherIsToldWhy()
    {
        await using var host = await HostFixture.StartAsync(output);
        await host.CreateAsync("race", host.Guest("counter.elf", TestGuests.Counter()));
        using var second = HostEndpoint.Connect(host.SocketPath);
        var other = new VmHost.VmHostClient(second);
        var results = await Task.WhenAll(Attempt(host.Client), Attempt(other));
        output.WriteLine(string.Join(" | ", results.Select(r => r.Error?.Status.ToString() ?? "started")));
        Assert.Single(results, r => r.Error is null);
        var loser = results.Single(r => r.Error is not null).Error!;
        Assert.True(loser.StatusCode is StatusCode.Aborted or StatusCode.FailedPrecondition, loser.Status.ToString());
        Assert.Matches("busy|it is Running", loser.Status.Detail);
        Assert.Single(host.Workers());

        static async Task<(Vm? Vm, RpcException? Error)> Attempt(VmHost.VmHostClient client)
        {
            try { return (await client.StartVmAsync(new VmRef { Name = "race" }), null); }
            catch (RpcException e) { return (null, e); }
        }
    }

    [Fact]
    public async Task AKilledWorkerLeavesItsVmOffWithTheReasonRecordedAndAnErrorEvent()
    {
        await using var host = await HostFixture.StartAsync(output);
        var vm = await host.CreateAsync("victim", host.Guest("counter.elf", TestGuests.Counter()));
        using var watch = host.Client.WatchEvents(new WatchEventsRequest { Vm = new VmRef { Name = "victim" } });
        await watch.ResponseHeadersAsync;
        int pid = (await host.Client.StartVmAsync(new VmRef { Name = "victim" })).WorkerPid;

        Assert.True(Posix.Signal(pid, Posix.SigKill));
        VmEvent? error = null;
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            await foreach (var e in watch.ResponseStream.ReadAllAsync(timeout.Token))
                if (e.Kind == VmEventKind.Error) { error = e; break; }
        Assert.NotNull(error);
        Assert.Contains($"PID {pid}", error.Message);

        var off = await host.Client.GetVmAsync(new VmRef { Name = "victim" });
        Assert.Equal(VmState.Off, off.State);
        Assert.Contains("crashed or was killed", off.LastOffReason);
        Assert.Contains("crashed", off.Status, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("crashed or was killed", File.ReadAllText(Path.Combine(vm.Path, "runtime.json")));

        // The reason survives a host restart, and the VM starts again.
        await host.StopHostAsync();
        await host.StartHostAsync();
        Assert.Contains("crashed or was killed", (await host.Client.GetVmAsync(new VmRef { Name = "victim" })).LastOffReason);
        int second = (await host.Client.StartVmAsync(new VmRef { Name = "victim" })).WorkerPid;

        // Killed again, and started again by the same host: once it runs, the crash is history.
        Assert.True(Posix.Signal(second, Posix.SigKill));
        await VmLifecycleTests.WaitForAsync(async () => (await host.Client.GetVmAsync(new VmRef { Name = "victim" })).State == VmState.Off, "the second crash seen");
        Assert.Contains("crashed", (await host.Client.GetVmAsync(new VmRef { Name = "victim" })).Status, StringComparison.OrdinalIgnoreCase);
        var again = await host.Client.StartVmAsync(new VmRef { Name = "victim" });
        Assert.Equal((VmState.Running, "Operating normally"), (again.State, again.Status));
    }

    [Fact]
    public async Task ARestartedHostFindsItsRunningAndPausedWorkersAgain()
    {
        await using var host = await HostFixture.StartAsync(output);
        string kernel = host.Guest("counter.elf", TestGuests.Counter());
        await host.CreateAsync("one", kernel);
        await host.CreateAsync("two", kernel);
        int one = (await host.Client.StartVmAsync(new VmRef { Name = "one" })).WorkerPid;
        int two = (await host.Client.StartVmAsync(new VmRef { Name = "two" })).WorkerPid;
        await host.Client.SuspendVmAsync(new VmRef { Name = "two" });

        await host.StopHostAsync();
        Assert.Equal([one, two], host.Workers().Order()); // the VMs did not go down with the host
        await host.StartHostAsync();

        var vms = (await host.Client.ListVmsAsync(new ListVmsRequest())).Vms;
        Assert.Equal((VmState.Running, one), (vms.Single(v => v.Name == "one").State, vms.Single(v => v.Name == "one").WorkerPid));
        await VmLifecycleTests.WaitForAsync(async () => (await host.Client.GetVmAsync(new VmRef { Name = "two" })).State == VmState.Paused, "the paused VM seen paused");
        Assert.Equal(two, (await host.Client.GetVmAsync(new VmRef { Name = "two" })).WorkerPid);
        string console = await host.ReadConsoleAsync("one", t => CounterOutput.Last(t) >= 3, TimeSpan.FromSeconds(30));
        Assert.True(CounterOutput.Last(console) >= 3);

        Assert.Equal(VmState.Off, (await host.Client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "one" }, TurnOff = true })).State);
        Assert.Equal(VmState.Off, (await host.Client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "two" }, Force = true })).State);
        Assert.Empty(host.Workers());
    }

    [Fact]
    public async Task AGuestThatPowersOffLeavesItsVmOffAndAGuestIgnoringShutdownIsTurnedOffWithForce()
    {
        await using var host = await HostFixture.StartAsync(output);
        await host.CreateAsync("bye", host.Guest("bye.elf", TestGuests.PowerOff()));
        await host.CreateAsync("deaf", host.Guest("counter.elf", TestGuests.Counter()));
        using var watch = host.Client.WatchEvents(new WatchEventsRequest { Vm = new VmRef { Name = "bye" } });
        await watch.ResponseHeadersAsync;
        try { await host.Client.StartVmAsync(new VmRef { Name = "bye" }); }
        catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition) { } // it may be off again before the start returns
        await VmLifecycleTests.WaitForAsync(async () => (await host.Client.GetVmAsync(new VmRef { Name = "bye" })).State == VmState.Off, "the guest powering off");
        Assert.Equal("the guest shut down", (await host.Client.GetVmAsync(new VmRef { Name = "bye" })).LastOffReason);

        // The counter has no ACPI driver: the power button does nothing, the wait runs out.
        await host.Client.StartVmAsync(new VmRef { Name = "deaf" });
        var timeout = await Assert.ThrowsAsync<RpcException>(() => host.Client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "deaf" }, TimeoutSeconds = 1 }).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, timeout.StatusCode);
        Assert.Contains("--force", timeout.Status.Detail);
        Assert.Equal(VmState.Running, (await host.Client.GetVmAsync(new VmRef { Name = "deaf" })).State);
        var forced = await host.Client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "deaf" }, TimeoutSeconds = 1, Force = true });
        Assert.Equal(VmState.Off, forced.State);
    }

    [Fact]
    public async Task AutomaticStopActionsRunWhenTheHostStopsAndStartActionsAfterTheirDelayWhenItStarts()
    {
        await using var host = await HostFixture.StartAsync(output);
        string kernel = host.Guest("idle.elf", TestGuests.Idle());
        foreach (var (name, stop, start) in new[]
        {
            ("saver", AutomaticStopAction.Save, AutomaticStartAction.StartIfRunning),
            ("cutter", AutomaticStopAction.TurnOff, AutomaticStartAction.Nothing),
            ("always", AutomaticStopAction.TurnOff, AutomaticStartAction.Start),
        })
        {
            await host.CreateAsync(name, kernel, 32L << 20);
            await host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = new VmRef { Name = name }, AutomaticStopAction = stop, AutomaticStartAction = start, AutomaticStartDelaySeconds = name == "always" ? 2 : 0 });
        }
        await host.Client.StartVmAsync(new VmRef { Name = "saver" });
        await host.Client.StartVmAsync(new VmRef { Name = "cutter" });

        await host.Server!.StopVmsAsync(); // what `hyper host` does on SIGTERM
        Assert.Equal(VmState.Saved, (await host.Client.GetVmAsync(new VmRef { Name = "saver" })).State);
        Assert.Equal(VmState.Off, (await host.Client.GetVmAsync(new VmRef { Name = "cutter" })).State);
        Assert.Empty(host.Workers());
        await host.StopHostAsync();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await host.StartHostAsync();
        // saver was running when the host stopped (StartIfRunning); always starts regardless, after its 2 s delay; cutter stays off.
        await VmLifecycleTests.WaitForAsync(async () => (await host.Client.ListVmsAsync(new ListVmsRequest())).Vms.Count(v => v.State == VmState.Running) == 2, "the automatic starts");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2), $"'always' started after {clock.Elapsed.TotalSeconds:F1} s, before its delay");
        Assert.Equal(VmState.Off, (await host.Client.GetVmAsync(new VmRef { Name = "cutter" })).State);
        Assert.Equal(2, host.Workers().Count);
    }
}
