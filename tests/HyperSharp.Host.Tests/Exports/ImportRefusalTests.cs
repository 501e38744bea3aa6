using Grpc.Core;
using HyperSharp.Api.V1;
using Xunit.Abstractions;
using static HyperSharp.Host.Tests.Checkpoints.CheckpointDisks;

namespace HyperSharp.Host.Tests.Exports;

/// <summary>
/// What Export-VM and Import-VM refuse: a running VM; what Compare-VM reports (an ID or name in use, a missing switch, a
/// missing parent disk, a newer configuration version) refused by the import in the same words; hostile or corrupt
/// exports refused naming the file — and in every case nothing is registered or left half-way.
/// </summary>
public class ImportRefusalTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheImportRefusesWhatCompareReportsInTheSameWords()
    {
        await using var host = await HostFixture.StartAsync(output);
        var (vm, _) = await CreateVmAsync(host, "src", "data");
        await host.Client.Networking.CreateSwitchAsync(new CreateSwitchRequest { Name = "lan", SwitchType = SwitchType.Private });
        await host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, SwitchName = "lan" });
        await host.Client.Checkpoints.CreateCheckpointAsync(new CreateCheckpointRequest { Vm = vm, Name = "cp" });
        string exports = Directory.CreateDirectory(Path.Combine(host.Root, "exports")).FullName;
        string file = (await host.Client.Exports.ExportVmAsync(new ExportVmRequest { Vm = vm, Path = exports })).ConfigurationFile;

        // Registered in place while the VM is here: its ID, its name and its adapter's (dynamic) MAC address are taken.
        await AssertRefusedAsync(host, new ImportVmRequest { Path = file }, "IdInUse", "MacInUse", "NameInUse");
        // The switch gone, a copy with a new ID and name still has no switch for its adapter.
        await host.Client.Networking.RemoveNetworkAdapterAsync(new NetworkAdapterRef { Vm = vm, Name = "Network Adapter" });
        await host.Client.Networking.RemoveSwitchAsync(new RemoveSwitchRequest { Switch = new SwitchRef { Name = "lan" } });
        var copy = new ImportVmRequest { Path = file, Copy = true, GenerateNewId = true, NewName = "copy" };
        await AssertRefusedAsync(host, copy, "SwitchMissing");
        // A static MAC address is kept by a copy even with a new ID: refused while another VM has it.
        await host.Client.Networking.AddNetworkAdapterAsync(new AddNetworkAdapterRequest { Vm = vm, Name = "fixed", StaticMacAddress = "00-15-5D-12-34-56" });
        string withMac = Directory.CreateDirectory(Path.Combine(host.Root, "exports-mac")).FullName;
        string macFile = (await host.Client.Exports.ExportVmAsync(new ExportVmRequest { Vm = vm, Path = withMac })).ConfigurationFile;
        await AssertRefusedAsync(host, new ImportVmRequest(copy) { Path = macFile }, "MacInUse");
        await host.Client.Networking.RemoveNetworkAdapterAsync(new NetworkAdapterRef { Vm = vm, Name = "fixed" });

        // A missing parent disk: the base of the chain removed from the export.
        string exported2 = Directory.CreateDirectory(Path.Combine(host.Root, "exports2")).FullName;
        string file2 = (await host.Client.Exports.ExportVmAsync(new ExportVmRequest { Vm = vm, Path = exported2 })).ConfigurationFile;
        File.Delete(Path.Combine(exported2, "src", "Virtual Hard Disks", "data.vhdx"));
        await AssertRefusedAsync(host, new ImportVmRequest(copy) { Path = file2 }, "ParentMissing", "DiskMissing");

        // A newer configuration version.
        string json = File.ReadAllText(file2).Replace("\"version\": 5", "\"version\": 99");
        File.WriteAllText(file2, json);
        await AssertRefusedAsync(host, new ImportVmRequest(copy) { Path = file2 }, "NewerVersion");

        // Hostile and corrupt files: refused naming the file, before anything is made.
        string text = File.ReadAllText(file);
        File.WriteAllText(file, "{ not json");
        await AssertInvalidAsync(host, copy, file);
        File.WriteAllText(file, text.Replace("\"Virtual Hard Disks/data.vhdx\"", "\"../../data.vhdx\""));
        await AssertInvalidAsync(host, copy, "leaves the export folder");
        File.WriteAllText(file, text.Replace("\"Virtual Hard Disks/data.vhdx\"", "\"/etc/passwd\""));
        await AssertInvalidAsync(host, copy, "not a path relative to the export folder");
        Assert.Single((await host.Client.ListVmsAsync(new ListVmsRequest())).Vms);
        Assert.Single(Directory.GetDirectories(Path.Combine(host.Root, "vms"))); // the source's folder, no staged import left
    }

    [Fact]
    public async Task ARunningVmIsNotExportedAndAFailedExportLeavesNothing()
    {
        await using var host = await HostFixture.StartAsync(output);
        var (vm, _) = await CreateCounterVmAsync(host, "busy", "data");
        string exports = Directory.CreateDirectory(Path.Combine(host.Root, "exports")).FullName;
        await host.Client.StartVmAsync(vm);
        var running = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.Exports.ExportVmAsync(new ExportVmRequest { Vm = vm, Path = exports }));
        Assert.Equal(StatusCode.FailedPrecondition, running.StatusCode);
        Assert.Contains("while it is Running", running.Status.Detail);
        await host.Client.StopVmAsync(new StopVmRequest { Vm = vm, TurnOff = true });

        // The drive's image made unreadable half-way through the export: nothing is left in the export folder.
        string drive = (await host.Client.GetVmAsync(vm)).HardDrives.Single().Path;
        File.WriteAllBytes(drive, new byte[4096]);
        var failed = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.Exports.ExportVmAsync(new ExportVmRequest { Vm = vm, Path = exports }));
        output.WriteLine(failed.Status.Detail);
        Assert.Contains(drive, failed.Status.Detail);
        Assert.Empty(Directory.EnumerateFileSystemEntries(exports));
    }

    private async Task AssertRefusedAsync(HostFixture host, ImportVmRequest request, params string[] kinds)
    {
        var report = await host.Client.Exports.CompareImportAsync(request);
        foreach (var i in report.Incompatibilities) output.WriteLine($"{i.Kind} ({i.Source}): {i.Message}");
        Assert.Equal(kinds.Order(), report.Incompatibilities.Select(i => i.Kind).Distinct().Order());
        int vms = (await host.Client.ListVmsAsync(new ListVmsRequest())).Vms.Count;
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.Exports.ImportVmAsync(request));
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        foreach (var i in report.Incompatibilities) Assert.Contains(i.Message, refused.Status.Detail);
        Assert.Equal(vms, (await host.Client.ListVmsAsync(new ListVmsRequest())).Vms.Count);
    }

    private async Task AssertInvalidAsync(HostFixture host, ImportVmRequest request, string expected)
    {
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.Exports.CompareImportAsync(request));
        output.WriteLine(refused.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains(expected, refused.Status.Detail);
        var import = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.Exports.ImportVmAsync(request));
        Assert.Equal(refused.Status.Detail, import.Status.Detail);
    }
}
