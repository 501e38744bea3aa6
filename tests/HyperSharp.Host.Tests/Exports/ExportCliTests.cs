using HyperSharp.Api.V1;
using Xunit.Abstractions;
using static HyperSharp.Host.Tests.Checkpoints.CheckpointDisks;

namespace HyperSharp.Host.Tests.Exports;

/// <summary>`hyper vm export` and `hyper vm import` (with --compare) against a real host.</summary>
public class ExportCliTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheCliExportsComparesAndImportsACopy()
    {
        await using var host = await HostFixture.StartAsync(output);
        var (vm, _) = await CreateVmAsync(host, "cli", "disk");
        await WriteAsync(host, "cli", 'A');
        CliResult Hyper(params string[] args) => CliRunner.Run(output, [.. args, "--host-socket", host.SocketPath]);
        string exports = Directory.CreateDirectory(Path.Combine(host.Root, "exports")).FullName;

        var exported = Hyper("vm", "export", "cli", "--path", exports);
        Assert.Equal(0, exported.Exit);
        string id = (await host.Client.GetVmAsync(vm)).Id;
        string file = Path.Combine(exports, "cli", "Virtual Machines", id + ".json");
        Assert.Contains($"import {file}", exported.Out);
        var twice = Hyper("vm", "export", "cli", "--path", exports);
        Assert.Equal(1, twice.Exit);
        Assert.Contains("already exists", twice.Error);
        Assert.Equal(2, Hyper("vm", "export", "cli", "--path", exports, "--capture-live-state", "Sometimes").Exit);

        var compare = Hyper("vm", "import", file, "--compare");
        Assert.Equal(1, compare.Exit);
        Assert.Contains($"IdInUse (Virtual Machine): a VM with the ID {id} is already registered on this host ('cli')", compare.Out);
        Assert.Contains("NameInUse", compare.Out);
        var registered = Hyper("vm", "import", file);
        Assert.Equal(1, registered.Exit);
        Assert.Contains($"a VM with the ID {id} is already registered on this host ('cli')", registered.Error);

        string disks = Directory.CreateDirectory(Path.Combine(host.Root, "copies")).FullName;
        var copied = Hyper("vm", "import", file, "--copy", "--generate-new-id", "--new-name", "cli2", "--vhd-destination-path", disks);
        Assert.Equal(0, copied.Exit);
        Assert.Contains("cli2: imported (", copied.Out);
        Assert.Equal('A', Read(await CurrentDiskAsync(host, "cli2")));
        Assert.Equal(Path.Combine(disks, "disk.vhdx"), await CurrentDiskAsync(host, "cli2"));
    }
}
