using HyperSharp.Api.V1;
using Xunit.Abstractions;
using static HyperSharp.Host.Tests.Checkpoints.CheckpointDisks;

namespace HyperSharp.Host.Tests.Exports;

/// <summary>Export-VMSnapshot: the VM as it was at one checkpoint, without its tree; its images keep their chain (not flattened), re-pointed inside the export.</summary>
public class ExportCheckpointTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ACheckpointExportHoldsTheVmAsItWasThen()
    {
        await using var host = await HostFixture.StartAsync(output);
        var (vm, _) = await CreateVmAsync(host, "tree", "data");
        await WriteAsync(host, "tree", 'A');
        await host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "one" });
        await WriteAsync(host, "tree", 'B');
        await host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "two" });
        await WriteAsync(host, "tree", 'C');
        string exports = Directory.CreateDirectory(Path.Combine(host.Root, "exports")).FullName;

        var exported = await host.Client.Exports.ExportCheckpointAsync(new ExportCheckpointRequest { Checkpoint = new CheckpointRef { Vm = vm, Name = "two" }, Path = exports });
        Assert.False(exported.HasSavedState);
        // "two" froze the first child of data.vhdx: the export holds that chain, two images, nothing of "Now".
        var disks = Directory.GetFiles(Path.Combine(exported.Folder, "Virtual Hard Disks"));
        Assert.Equal(2, disks.Length);
        Assert.Empty(Directory.GetFiles(Path.Combine(exported.Folder, "Snapshots")));

        var copy = await host.Client.Exports.ImportVmAsync(new ImportVmRequest { Path = exported.ConfigurationFile, Copy = true, GenerateNewId = true, NewName = "at-two", VhdDestinationPath = Directory.CreateDirectory(Path.Combine(host.Root, "copies")).FullName });
        Assert.Equal('B', Read(copy.HardDrives.Single().Path));
        Assert.Empty((await host.Client.Checkpoints.ListCheckpointsAsync(new ListCheckpointsRequest { Vm = new VmRef { Name = "at-two" } })).Checkpoints);
        Assert.Equal('C', Read((await host.Client.GetVmAsync(vm)).HardDrives.Single().Path));
        foreach (var disk in disks) AssertChainClean(output, disk);
    }
}
