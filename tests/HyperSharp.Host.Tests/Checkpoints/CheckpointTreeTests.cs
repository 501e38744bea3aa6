using Grpc.Core;
using HyperSharp.Api.V1;
using Xunit.Abstractions;
using static HyperSharp.Host.Tests.Checkpoints.CheckpointDisks;

namespace HyperSharp.Host.Tests.Checkpoints;

/// <summary>
/// Checkpoints of a VM that is off, through the host: real VHDX chains (NAME_GUID.avhdx beside the disk), restore to any
/// checkpoint of a tree with a branch, removal of checkpoints in the middle with their images merged away, every chain
/// checked by `hyper vhd check` and qemu-img at each step.
/// </summary>
public class CheckpointTreeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task RestoreGoesBackAndRemovingMiddleCheckpointsKeepsEveryOthersData()
    {
        await using var host = await HostFixture.StartAsync(output);
        var (vm, data) = await CreateVmAsync(host, "tree", "data");

        await WriteAsync(host, "tree", 'A');
        var one = await host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "one" });
        Assert.Empty(one.Warnings);
        Assert.Equal([data], one.DiskPaths);
        string afterOne = await CurrentDiskAsync(host, "tree");
        Assert.Matches(@"^data_[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\.avhdx$", Path.GetFileName(afterOne));
        Assert.Equal(host.Root, Path.GetDirectoryName(afterOne));
        await WriteAsync(host, "tree", 'B');
        var two = await host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "two" });
        Assert.Equal("one", two.ParentName);
        await WriteAsync(host, "tree", 'C');
        AssertChainClean(output, await CurrentDiskAsync(host, "tree"));

        // Restore one: C (the current state) is discarded, the VM reads A, and goes on under one.
        string discarded = await CurrentDiskAsync(host, "tree");
        await host.Client.Checkpoints.RestoreCheckpointAsync(new CheckpointRef { Vm = vm, Name = "one" });
        Assert.Equal('A', Read(await CurrentDiskAsync(host, "tree")));
        Assert.False(File.Exists(discarded), $"{discarded}: the discarded current state is still there");
        var listed = (await host.Client.Checkpoints.ListCheckpointsAsync(new ListCheckpointsRequest { Vm = vm })).Checkpoints;
        Assert.Equal(["one", "two"], listed.Select(c => c.Name));
        Assert.True(listed[0].IsCurrent);

        // A branch: three under one, beside two.
        await WriteAsync(host, "tree", 'D');
        var three = await host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "three" });
        Assert.Equal("one", three.ParentName);
        await WriteAsync(host, "tree", 'E');

        // Removing one (the root, whose disk two and three both build on) leaves every other state as it was.
        await host.Client.Checkpoints.RemoveCheckpointAsync(new RemoveCheckpointRequest { Checkpoint = new CheckpointRef { Vm = vm, Name = "one" } });
        listed = (await host.Client.Checkpoints.ListCheckpointsAsync(new ListCheckpointsRequest { Vm = vm })).Checkpoints;
        Assert.Equal(["two", "three"], listed.Select(c => c.Name));
        Assert.All(listed, c => Assert.Equal("", c.ParentName));
        Assert.Equal('B', Read(listed[0].DiskPaths[0]));
        Assert.Equal('D', Read(listed[1].DiskPaths[0]));
        Assert.Equal('E', Read(await CurrentDiskAsync(host, "tree")));

        // Removing two: its image goes, and three's is merged into data.vhdx (the one image left under it).
        await host.Client.Checkpoints.RemoveCheckpointAsync(new RemoveCheckpointRequest { Checkpoint = new CheckpointRef { Vm = vm, Name = "two" } });
        listed = (await host.Client.Checkpoints.ListCheckpointsAsync(new ListCheckpointsRequest { Vm = vm })).Checkpoints;
        Assert.Equal([data], listed.Single().DiskPaths);
        Assert.Equal('D', Read(data));
        string now = await CurrentDiskAsync(host, "tree");
        Assert.Equal('E', Read(now));
        Assert.Equal([now, data], Vhdx.Operations.DiskChain.Paths(now));
        Assert.Equal(2, Directory.EnumerateFiles(host.Root, "*.avhdx").Count() + 1); // the current image and data.vhdx only
        AssertChainClean(output, now);

        // Restore three, then remove it: the VM ends on data.vhdx alone, with three's data.
        await host.Client.Checkpoints.RestoreCheckpointAsync(new CheckpointRef { Vm = vm, Name = "three" });
        Assert.Equal('D', Read(await CurrentDiskAsync(host, "tree")));
        await WriteAsync(host, "tree", 'F');
        await host.Client.Checkpoints.RemoveCheckpointAsync(new RemoveCheckpointRequest { Checkpoint = new CheckpointRef { Vm = vm, Name = "three" } });
        Assert.Empty((await host.Client.Checkpoints.ListCheckpointsAsync(new ListCheckpointsRequest { Vm = vm })).Checkpoints);
        Assert.Equal(data, await CurrentDiskAsync(host, "tree"));
        Assert.Equal('F', Read(data));
        Assert.Empty(Directory.EnumerateFiles(host.Root, "*.avhdx"));
        AssertChainClean(output, data);

        // The tree lives in vm.json: a restarted host reads it back.
        await host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "kept" });
        await host.StopHostAsync();
        await host.StartHostAsync();
        Assert.Equal("kept", (await host.Client.Checkpoints.ListCheckpointsAsync(new ListCheckpointsRequest { Vm = vm })).Checkpoints.Single().Name);
    }

    [Fact]
    public async Task RemovingWithChildrenAndRenamingFollowTheTree()
    {
        await using var host = await HostFixture.StartAsync(output);
        var (vm, data) = await CreateVmAsync(host, "sub", "d");
        foreach (var (mark, name) in new[] { ('A', "a"), ('B', "b"), ('C', "c") })
        {
            await WriteAsync(host, "sub", mark);
            await host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = name });
        }
        await WriteAsync(host, "sub", 'D');
        var renamed = await host.Client.Checkpoints.RenameCheckpointAsync(new RenameCheckpointRequest { Checkpoint = new CheckpointRef { Vm = vm, Name = "c" }, NewName = "last" });
        Assert.Equal("last", renamed.Name);
        Assert.Equal("b", renamed.ParentName);

        await host.Client.Checkpoints.RemoveCheckpointAsync(new RemoveCheckpointRequest { Checkpoint = new CheckpointRef { Vm = vm, Name = "b" }, IncludeChildren = true });
        var left = (await host.Client.Checkpoints.ListCheckpointsAsync(new ListCheckpointsRequest { Vm = vm })).Checkpoints.Single();
        Assert.Equal("a", left.Name);
        Assert.True(left.IsCurrent);
        Assert.Equal('A', Read(data));
        string now = await CurrentDiskAsync(host, "sub");
        Assert.Equal('D', Read(now));
        Assert.Equal([now, data], Vhdx.Operations.DiskChain.Paths(now));
        AssertChainClean(output, now);
    }

    [Fact]
    public async Task BadRequestsAreRefusedNamingWhatIsWrong()
    {
        await using var host = await HostFixture.StartAsync(output);
        var (vm, _) = await CreateVmAsync(host, "bad", "x", CheckpointType.Production);

        // Production is the default: with no guest agent to freeze the guest, a standard checkpoint is taken and the answer says so.
        var first = await host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm });
        Assert.Contains("standard checkpoint was taken instead", Assert.Single(first.Warnings));
        Assert.Matches(@"^bad - \(\d{1,2}/\d{1,2}/\d{4} - \d{1,2}:\d{2}:\d{2} (AM|PM)\)$", first.Name);

        var e = await Assert.ThrowsAsync<RpcException>(() => host.Client.Checkpoints.RestoreCheckpointAsync(new CheckpointRef { Vm = vm, Name = "nope" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Contains("'nope'", e.Status.Detail);
        e = await Assert.ThrowsAsync<RpcException>(() => host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = first.Name }).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, e.StatusCode);

        foreach (var (type, words) in new[] { (CheckpointType.Disabled, "disabled"), (CheckpointType.ProductionOnly, "production checkpoints only") })
        {
            await host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = vm, CheckpointType = type });
            e = await Assert.ThrowsAsync<RpcException>(() => host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "x" }).ResponseAsync);
            Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
            Assert.Contains(words, e.Status.Detail);
        }

        await host.Client.UpdateVmAsync(new UpdateVmRequest { Vm = vm, CheckpointType = CheckpointType.Standard });
        string current = await CurrentDiskAsync(host, "bad");
        File.Move(current, current + ".gone");
        e = await Assert.ThrowsAsync<RpcException>(() => host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "missing" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains(current, e.Status.Detail);
        Assert.Contains("does not exist", e.Status.Detail);
        Assert.Single((await host.Client.Checkpoints.ListCheckpointsAsync(new ListCheckpointsRequest { Vm = vm })).Checkpoints);
    }
}
