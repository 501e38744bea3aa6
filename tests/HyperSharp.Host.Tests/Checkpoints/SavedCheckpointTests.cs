using HyperSharp.Api.V1;
using Xunit.Abstractions;
using static HyperSharp.Host.Tests.Checkpoints.CheckpointDisks;

namespace HyperSharp.Host.Tests.Checkpoints;

/// <summary>
/// Checkpoints of a Saved VM (the counter guest on the Emulated backend, with a data disk): each keeps the VM's saved
/// state as its memory state and freezes its disks; resumed, the VM counts on from its save; restored, it is Saved at the
/// checkpoint's instant and counts on from there, even after the checkpoint (and its state file) is removed.
/// </summary>
public class SavedCheckpointTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ConsoleWait = TimeSpan.FromMinutes(3);
    // The guest counts on between the console read and the save: how far its first number after a resume may be past the read.
    private const long Slack = 300;

    [Fact]
    public async Task ASavedVmsCheckpointKeepsItsStateAndRestoresToThatInstant()
    {
        await using var host = await HostFixture.StartAsync(output);
        var (vm, data) = await CreateCounterVmAsync(host, "saved", "data");
        await WriteAsync(host, "saved", 'A');
        await host.Client.StartVmAsync(vm);
        long seen = CounterOutput.Last(await host.ReadConsoleAsync("saved", t => CounterOutput.Last(t) >= 20, ConsoleWait));
        Assert.Equal(VmState.Saved, (await host.Client.SaveVmAsync(vm)).State);
        string folder = (await host.Client.GetVmAsync(vm)).Path;
        string savedState = Path.Combine(folder, "saved.state");

        // Two checkpoints, one over the other, with no run between: the VM stays Saved on a grandchild of its disk.
        var first = await host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "first" });
        var second = await host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "second" });
        Assert.True(first.HasSavedState);
        Assert.True(second.HasSavedState);
        Assert.Equal([data], first.DiskPaths);
        Assert.Equal(VmState.Saved, (await host.Client.GetVmAsync(vm)).State);
        string now = await CurrentDiskAsync(host, "saved");
        Assert.Equal(3, Vhdx.Operations.DiskChain.Paths(now).Count);
        string firstState = StateFile(folder, first.Id);
        Assert.True(File.Exists(firstState), $"{firstState}: the checkpoint's state file is missing");
        Assert.Equal(new FileInfo(savedState).Length, new FileInfo(firstState).Length);

        // Resumed, the saved state (which names data.vhdx) finds the drive on its grandchild and counts on from the save.
        await host.Client.StartVmAsync(vm);
        var resumed = CounterOutput.Numbers(await host.ReadConsoleAsync("saved", t => CounterOutput.Last(t) >= seen + 2 * Slack, ConsoleWait));
        output.WriteLine($"saved after {seen:X8}; resumed from {resumed[0]:X8}, ran on to {resumed[^1]:X8}");
        Assert.InRange(resumed[0], seen, seen + Slack);

        var restored = await host.Client.Checkpoints.RestoreCheckpointAsync(new CheckpointRef { Vm = vm, Name = "first" });
        Assert.Equal(VmState.Saved, restored.State);
        string child = await CurrentDiskAsync(host, "saved");
        Assert.Equal([child, data], Vhdx.Operations.DiskChain.Paths(child));
        Assert.Equal('A', Read(child));

        // Removing the checkpoint drops its state file; the VM's own saved state (restored from it) stays whole.
        await host.Client.Checkpoints.RemoveCheckpointAsync(new RemoveCheckpointRequest { Checkpoint = new CheckpointRef { Vm = vm, Name = "first" } });
        Assert.False(File.Exists(firstState), $"{firstState} outlived its checkpoint");
        Assert.True(File.Exists(StateFile(folder, second.Id)));
        Assert.True(File.Exists(savedState));
        Assert.Equal(VmState.Saved, (await host.Client.GetVmAsync(vm)).State);

        await host.Client.StartVmAsync(vm);
        var again = CounterOutput.Numbers(await host.ReadConsoleAsync("saved", t => CounterOutput.Numbers(t).Count >= 5, ConsoleWait));
        output.WriteLine($"restored, the guest goes on from {again[0]:X8}");
        // From the checkpoint's instant (the save), not from a boot and not from where it ran to after the resume.
        Assert.InRange(again[0], seen, seen + Slack);
        Assert.Equal(resumed[0], again[0]); // the same saved state both times
        for (int i = 1; i < again.Count; i++) Assert.Equal(again[i - 1] + 1, again[i]);
        await host.Client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
        AssertChainClean(output, await CurrentDiskAsync(host, "saved"));
    }

    private static string StateFile(string folder, string id) => Path.Combine(folder, "checkpoints", $"{Guid.Parse(id):D}.state");
}
