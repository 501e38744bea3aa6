using HyperSharp.Api.V1;
using Xunit.Abstractions;
using static HyperSharp.Host.Tests.Checkpoints.CheckpointDisks;

namespace HyperSharp.Host.Tests.Checkpoints;

/// <summary>
/// A checkpoint of a running guest (the counter guest on the Emulated backend, with a data disk): its worker pauses it,
/// writes its state and switches the disk in one pause; restoring the checkpoint leaves the VM Saved at that instant,
/// and started it counts on from the checkpoint's number, on a new child of the checkpoint's disk.
/// </summary>
public class RunningCheckpointTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ConsoleWait = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task ARunningGuestRestoredFromItsCheckpointCountsOnFromThere()
    {
        await using var host = await HostFixture.StartAsync(output);
        var (vm, data) = await CreateCounterVmAsync(host, "count", "data");
        await WriteAsync(host, "count", 'A');
        await host.Client.StartVmAsync(vm);

        string before = await host.ReadConsoleAsync("count", t => CounterOutput.Last(t) >= 20, ConsoleWait);
        long seenBefore = CounterOutput.Last(before);
        Assert.True(seenBefore >= 20, $"the counter guest printed up to {seenBefore:X8} only");
        var checkpoint = await host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "counting" });
        output.WriteLine($"guest-visible pause of the checkpoint (64 MiB guest, Emulated backend): {checkpoint.PauseMs:0.0} ms");
        Assert.True(checkpoint.HasSavedState);
        Assert.True(checkpoint.PauseMs > 0);
        Assert.Equal([data], checkpoint.DiskPaths);
        string child = await CurrentDiskAsync(host, "count");
        Assert.NotEqual(data, child);
        Assert.Equal(VmState.Running, (await host.Client.GetVmAsync(vm)).State);

        // It runs on, well past the checkpoint, on the new child.
        string after = await host.ReadConsoleAsync("count", t => CounterOutput.Last(t) >= seenBefore + 200, ConsoleWait);
        long seenAfter = CounterOutput.Last(after);
        Assert.True(seenAfter >= seenBefore + 200, $"the guest stopped counting after the checkpoint (last {seenAfter:X8})");

        var restored = await host.Client.Checkpoints.RestoreCheckpointAsync(new CheckpointRef { Vm = vm, Name = "counting" });
        Assert.Equal(VmState.Saved, restored.State);
        string now = await CurrentDiskAsync(host, "count");
        Assert.NotEqual(child, now);
        Assert.Equal([now, data], Vhdx.Operations.DiskChain.Paths(now));
        Assert.Equal('A', Read(now));
        AssertChainClean(output, now);

        await host.Client.StartVmAsync(vm);
        string resumed = await host.ReadConsoleAsync("count", t => CounterOutput.Numbers(t).Count >= 5, ConsoleWait);
        var numbers = CounterOutput.Numbers(resumed);
        output.WriteLine($"before the checkpoint up to {seenBefore:X8}, after it up to {seenAfter:X8}; restored, the guest goes on from {numbers[0]:X8}");
        // It goes on from where it was at the checkpoint: not from 1 (a boot), not from where it was before the restore.
        Assert.InRange(numbers[0], seenBefore, seenBefore + 100);
        for (int i = 1; i < numbers.Count; i++) Assert.Equal(numbers[i - 1] + 1, numbers[i]);
        await host.Client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
    }

    [Fact]
    public async Task ACheckpointRemovedWhileTheGuestRunsIsMergedOnceTheVmIsOff()
    {
        await using var host = await HostFixture.StartAsync(output);
        var (vm, data) = await CreateCounterVmAsync(host, "merge", "data");
        await host.Client.StartVmAsync(vm);
        await host.ReadConsoleAsync("merge", t => CounterOutput.Last(t) >= 5, ConsoleWait);
        await host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "brief" });
        string child = await CurrentDiskAsync(host, "merge");

        // The worker has the disk open: the checkpoint leaves the tree at once, its merge waits.
        var removed = await host.Client.Checkpoints.RemoveCheckpointAsync(new RemoveCheckpointRequest { Checkpoint = new CheckpointRef { Vm = vm, Name = "brief" } });
        Assert.Contains("once the VM is off", Assert.Single(removed.Warnings));
        Assert.Empty((await host.Client.Checkpoints.ListCheckpointsAsync(new ListCheckpointsRequest { Vm = vm })).Checkpoints);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine((await host.Client.GetVmAsync(vm)).Path, "checkpoints")));
        Assert.True(File.Exists(child));

        await host.Client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
        await WriteAsync(host, "merge", 'Z'); // written to the child while the VM is off
        var next = await host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "next" });
        Assert.Equal([data], next.DiskPaths); // the child was merged into data.vhdx first
        Assert.False(File.Exists(child));
        Assert.Equal('Z', Read(data));
        AssertChainClean(output, await CurrentDiskAsync(host, "merge"));
    }
}
