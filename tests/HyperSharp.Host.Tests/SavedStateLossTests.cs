using Grpc.Core;
using HyperSharp.Api.V1;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// A Saved VM whose saved state went missing, was replaced by a directory or was damaged: starting it is an
/// error naming the file, the VM stays Saved (nothing cold-boots silently), and the intact state still restores.
/// </summary>
public class SavedStateLossTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AMissingOrDamagedSavedStateKeepsTheVmSavedAndNamesTheFile()
    {
        await using var host = await HostFixture.StartAsync(output);
        string kernel = host.Guest("counter.elf", TestGuests.Counter());
        var vm = await host.CreateAsync("keeper", kernel);
        var keeper = new VmRef { Name = "keeper" };
        Assert.Equal(VmState.Running, (await host.Client.StartVmAsync(keeper)).State);
        var firstRun = host.ReadConsoleAsync("keeper", _ => false, TimeSpan.FromSeconds(120));
        await VmLifecycleTests.WaitForAsync(async () => CounterOutput.Last(await host.ReadConsoleAsync("keeper", t => CounterOutput.Last(t) >= 3, TimeSpan.FromSeconds(1))) >= 3, "three lines on the console");
        Assert.Equal(VmState.Saved, (await host.Client.SaveVmAsync(keeper)).State);
        string before = await firstRun;

        string state = Path.Combine(vm.Path, "saved.state");
        string kept = Path.Combine(host.Root, "kept.state");
        File.Move(state, kept);

        await AssertStartRefusedAsync(host, keeper, state, "missing");
        Directory.CreateDirectory(state);
        await AssertStartRefusedAsync(host, keeper, state, "a directory");
        var discard = await Assert.ThrowsAsync<RpcException>(() => host.Client.StopVmAsync(new StopVmRequest { Vm = keeper, TurnOff = true }).ResponseAsync);
        Assert.Contains(state, discard.Status.Detail);
        Directory.Delete(state);

        // 4 KiB of noise in the middle of the file (the guest's memory): refused by its checksums, not run on.
        File.Copy(kept, state);
        using (var damaged = new FileStream(state, FileMode.Open, FileAccess.Write))
        {
            damaged.Position = damaged.Length / 2;
            var noise = new byte[4096];
            new Random(7).NextBytes(noise);
            damaged.Write(noise);
        }
        await AssertStartRefusedAsync(host, keeper, state, "damaged");

        // A host restart reads the VM as Saved from its record, whatever is in the folder.
        File.Delete(state);
        await host.StopHostAsync();
        await host.StartHostAsync();
        Assert.Equal(VmState.Saved, (await host.Client.GetVmAsync(keeper)).State);

        File.Move(kept, state);
        Assert.Equal(VmState.Running, (await host.Client.StartVmAsync(keeper)).State);
        long target = CounterOutput.Last(before) + 5;
        string after = await host.ReadConsoleAsync("keeper", t => CounterOutput.Last(before + t) >= target, TimeSpan.FromSeconds(60));
        CounterOutput.AssertConsecutiveFromOne(before + after); // the intact state restored where the guest was
        Assert.Equal(VmState.Off, (await host.Client.StopVmAsync(new StopVmRequest { Vm = keeper, TurnOff = true })).State);
    }

    private async Task AssertStartRefusedAsync(HostFixture host, VmRef vm, string stateFile, string what)
    {
        var refused = await Assert.ThrowsAsync<RpcException>(() => host.Client.StartVmAsync(vm).ResponseAsync);
        output.WriteLine($"{what}: {refused.Status.Detail}");
        Assert.Contains(stateFile, refused.Status.Detail);
        var now = await host.Client.GetVmAsync(vm);
        Assert.Equal(VmState.Saved, now.State);
        Assert.Empty(host.Workers());
    }
}
