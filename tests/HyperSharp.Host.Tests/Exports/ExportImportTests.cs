using HyperSharp.Api.V1;
using Xunit.Abstractions;
using static HyperSharp.Host.Tests.Checkpoints.CheckpointDisks;

namespace HyperSharp.Host.Tests.Exports;

/// <summary>
/// Export-VM and Import-VM with real guests (the counter guest on the Emulated backend): a VM with a data disk and two
/// checkpoints exported Off and imported as a copy with a new ID beside it, both running at once; a Saved VM exported
/// and registered in place on a second host, resuming from its saved state while the original resumes too.
/// </summary>
public class ExportImportTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ConsoleWait = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task AnOffVmWithTwoCheckpointsExportedAndCopiedWithANewIdRunsBesideItsOriginal()
    {
        await using var host = await HostFixture.StartAsync(output);
        var (vm, data) = await CreateCounterVmAsync(host, "orig", "data");
        var adapter = await host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm });
        await WriteAsync(host, "orig", 'A');
        await host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "one" });
        await WriteAsync(host, "orig", 'B');
        await host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "two" });
        await WriteAsync(host, "orig", 'C');
        var before = await host.Client.GetVmAsync(vm);
        var sourceFiles = Snapshot(DiskChainOf(before.HardDrives.Single().Path).Concat([data]));

        string exports = Directory.CreateDirectory(Path.Combine(host.Root, "exports")).FullName;
        var exported = await host.Client.Exports.ExportVmAsync(new ExportVmRequest { Vm = vm, Path = exports });
        output.WriteLine($"exported {exported.Files} files, {exported.Bytes} bytes, in {exported.Seconds:0.000} s to {exported.Folder}");
        Assert.Equal(Path.Combine(exports, "orig"), exported.Folder);
        Assert.Equal(Path.Combine(exported.Folder, "Virtual Machines", before.Id + ".json"), exported.ConfigurationFile);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(exported.Folder, "Virtual Hard Disks")).Length); // data.vhdx and two children
        string json = File.ReadAllText(exported.ConfigurationFile);
        Assert.DoesNotContain(data, json); // the disks are named relative to the export (the boot kernel is the host's, named as it is)
        Assert.Contains("Virtual Hard Disks/data.vhdx", json);
        // The source is never modified, and a second export to the same place is refused.
        Assert.Equal(sourceFiles, Snapshot(sourceFiles.Keys));
        var again = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await host.Client.Exports.ExportVmAsync(new ExportVmRequest { Vm = vm, Path = exports }));
        Assert.Contains("already exists", again.Status.Detail);

        string copies = Directory.CreateDirectory(Path.Combine(host.Root, "copied-disks")).FullName;
        var import = new ImportVmRequest { Path = exported.ConfigurationFile, Copy = true, GenerateNewId = true, VhdDestinationPath = copies, NewName = "copy" };
        var report = await host.Client.Exports.CompareImportAsync(import);
        Assert.Empty(report.Incompatibilities);
        Assert.Equal(2, report.Checkpoints);
        var copy = await host.Client.Exports.ImportVmAsync(import);
        Assert.NotEqual(before.Id, copy.Id);
        Assert.Equal(VmState.Off, copy.State);
        Assert.NotEqual(adapter.MacAddress, Assert.Single(copy.NetworkAdapters).MacAddress);
        string copyDisk = copy.HardDrives.Single().Path;
        Assert.All(DiskChainOf(copyDisk), f => Assert.StartsWith(copies + "/", f));
        Assert.Equal('C', Read(copyDisk));
        var copyCheckpoints = (await host.Client.Checkpoints.ListCheckpointsAsync(new ListCheckpointsRequest { Vm = new VmRef { Name = "copy" } })).Checkpoints;
        Assert.Equal(["one", "two"], copyCheckpoints.Select(c => c.Name));
        Assert.All(copyCheckpoints.SelectMany(c => c.DiskPaths), p => Assert.StartsWith(copies + "/", p));

        // A disk written in the original is unchanged in the copy.
        await WriteAsync(host, "orig", 'X');
        Assert.Equal('C', Read(copyDisk));

        // Both run at once.
        await host.Client.StartVmAsync(vm);
        await host.Client.StartVmAsync(new VmRef { Name = "copy" });
        foreach (var name in new[] { "orig", "copy" })
        {
            long seen = CounterOutput.Last(await host.ReadConsoleAsync(name, t => CounterOutput.Last(t) >= 20, ConsoleWait));
            Assert.True(seen >= 20, $"VM '{name}' printed up to {seen:X8} only");
        }
        Assert.Equal(VmState.Running, (await host.Client.GetVmAsync(vm)).State);
        Assert.Equal(VmState.Running, (await host.Client.GetVmAsync(new VmRef { Name = "copy" })).State);
        await host.Client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
        await host.Client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "copy" }, TurnOff = true });

        // The copy's checkpoints are its own: restoring "one" brings back A in the copy, the original keeps X.
        await host.Client.Checkpoints.RestoreCheckpointAsync(new CheckpointRef { Vm = new VmRef { Name = "copy" }, Name = "one" });
        Assert.Equal('A', Read((await host.Client.GetVmAsync(new VmRef { Name = "copy" })).HardDrives.Single().Path));
        Assert.Equal('X', Read((await host.Client.GetVmAsync(vm)).HardDrives.Single().Path));
        foreach (var file in Directory.GetFiles(copies).Concat(Directory.GetFiles(Path.Combine(exported.Folder, "Virtual Hard Disks"))))
            AssertChainClean(output, file);
    }

    [Fact]
    public async Task ASavedVmExportedAndRegisteredOnASecondHostResumesFromItsSavedState()
    {
        await using var first = await HostFixture.StartAsync(output);
        var (vm, _) = await CreateCounterVmAsync(first, "saved", "data");
        await first.Client.StartVmAsync(vm);
        long seen = CounterOutput.Last(await first.ReadConsoleAsync("saved", t => CounterOutput.Last(t) >= 20, ConsoleWait));
        await first.Client.SaveVmAsync(vm);
        string exports = Directory.CreateDirectory(Path.Combine(first.Root, "exports")).FullName;
        var exported = await first.Client.Exports.ExportVmAsync(new ExportVmRequest { Vm = vm, Path = exports });
        Assert.True(exported.HasSavedState);

        await using var second = await HostFixture.StartAsync(output);
        var registered = await second.Client.Exports.ImportVmAsync(new ImportVmRequest { Path = exported.ConfigurationFile });
        Assert.Equal((await first.Client.GetVmAsync(vm)).Id, registered.Id); // registered in place: the ID kept
        Assert.Equal(VmState.Saved, registered.State);
        Assert.StartsWith(exported.Folder + "/", registered.HardDrives.Single().Path);

        // Both resume at once: each on its own disk (the copy's saved state names the first host's image, which its worker must not open).
        await second.Client.StartVmAsync(new VmRef { Name = "saved" });
        await first.Client.StartVmAsync(vm);
        var there = CounterOutput.Numbers(await second.ReadConsoleAsync("saved", t => CounterOutput.Numbers(t).Count >= 5, ConsoleWait));
        var here = CounterOutput.Numbers(await first.ReadConsoleAsync("saved", t => CounterOutput.Numbers(t).Count >= 5, ConsoleWait));
        output.WriteLine($"saved after {seen:X8}; the original resumed from {here[0]:X8}, the registered export from {there[0]:X8}");
        Assert.InRange(there[0], seen, seen + 300);
        Assert.Equal(here[0], there[0]); // one saved state, resumed twice
        await second.Client.StopVmAsync(new StopVmRequest { Vm = new VmRef { Name = "saved" }, TurnOff = true });
        await first.Client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });
    }

    internal static IReadOnlyList<string> DiskChainOf(string path) => Vhdx.Operations.DiskChain.Paths(path);

    /// <summary>Each file's length and write time: what an export must leave as it was.</summary>
    private static Dictionary<string, (long, DateTime)> Snapshot(IEnumerable<string> files) =>
        files.Distinct().ToDictionary(f => f, f => (new FileInfo(f).Length, File.GetLastWriteTimeUtc(f)));
}
