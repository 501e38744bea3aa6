using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// `hyper vm new NAME --path DIR` (New-VM -Path): the VM's folder is DIR/ID, the inventory holds a link to it, and
/// creation is all or nothing — a failure leaves no folder, no link and no new disk. DIR must exist: a missing DIR
/// (or its parents) is never created on a client's behalf.
/// </summary>
public class VmPathTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AVmWithAPathLivesThereSurvivesAHostRestartAndIsRemovedWithItsFolder()
    {
        await using var host = await HostFixture.StartAsync(output);
        string kernel = host.Guest("idle.elf", TestGuests.Idle());
        string elsewhere = Directory.CreateDirectory(Path.Combine(host.Root, "elsewhere")).FullName;
        string disk = Path.Combine(elsewhere, "far.vhdx");

        var made = Hyper(host, "vm", "new", "far", "--kernel", kernel, "--path", elsewhere, "--new-vhd", disk, "--new-vhd-size", "16MB", "--memory", "32MB");
        Assert.Equal(0, made.Exit);
        var vm = await host.Client.GetVmAsync(new VmRef { Name = "far" });
        string folder = Path.Combine(elsewhere, vm.Id);
        Assert.Equal(folder, vm.Path);
        Assert.True(File.Exists(Path.Combine(folder, "vm.json")));
        Assert.Equal(folder, new DirectoryInfo(Path.Combine(host.Root, "vms", vm.Id)).LinkTarget);
        Assert.True(File.Exists(disk));
        Assert.Equal([vm.Id], Directory.GetFileSystemEntries(Path.Combine(host.Root, "vms")).Select(Path.GetFileName)); // no staging entry left
        Assert.Equal([folder, disk], Directory.GetFileSystemEntries(elsewhere).Order());

        await host.StopHostAsync();
        await host.StartHostAsync();
        var again = await host.Client.GetVmAsync(new VmRef { Name = "far" });
        Assert.Equal((VmState.Off, "Operating normally", folder), (again.State, again.Status, again.Path));

        Assert.Equal(0, Hyper(host, "vm", "remove", "far").Exit);
        Assert.False(Directory.Exists(folder));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(host.Root, "vms")));
        Assert.True(File.Exists(disk), "Remove-VM keeps the disks");
    }

    [Fact]
    public async Task AMissingPathIsRefusedAndNothingIsCreated()
    {
        await using var host = await HostFixture.StartAsync(output);
        string missing = Path.Combine(host.Root, "nonexistent", "here"), disk = Path.Combine(host.Root, "d.vhdx");
        var refused = Hyper(host, "vm", "new", "lost", "--path", missing, "--new-vhd", disk, "--new-vhd-size", "16MB");
        Assert.Equal(1, refused.Exit);
        Assert.Contains(missing, refused.Error);
        Assert.False(Directory.Exists(Path.Combine(host.Root, "nonexistent")), "the host created the path's parents");
        Assert.False(File.Exists(disk));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(host.Root, "vms")));
    }

    [Fact]
    public async Task AFolderThatCannotBeMadeLeavesNoLinkAndNoNewDisk()
    {
        await using var host = await HostFixture.StartAsync(output);
        string disk = Path.Combine(host.Root, "d.vhdx");
        // /proc exists and is a directory, but nobody (not even root) can make a folder in it.
        var refused = Hyper(host, "vm", "new", "stuck", "--path", "/proc", "--new-vhd", disk, "--new-vhd-size", "16MB");
        Assert.Equal(1, refused.Exit);
        Assert.Contains("/proc", refused.Error);
        Assert.False(File.Exists(disk), "the new disk was left behind");
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(host.Root, "vms")));
        Assert.Empty((await host.Client.ListVmsAsync(new ListVmsRequest())).Vms);
    }

    [Fact]
    public void ACreationWhoseCommitFailsLeavesNeitherTheFolderNorTheLink()
    {
        string root = Directory.CreateDirectory(Path.Combine("/tmp", "hs-inv-" + Guid.NewGuid().ToString("N")[..10])).FullName;
        try
        {
            var inventory = new VmInventory(root);
            inventory.Load(_ => { });
            string elsewhere = Directory.CreateDirectory(Path.Combine(root, "elsewhere")).FullName;
            var config = new VmConfiguration { Id = Guid.NewGuid(), Name = "x" };
            // Something already holds the VM's name in the inventory: the final rename cannot happen.
            Directory.CreateDirectory(Path.Combine(inventory.VmsDirectory, config.Id.ToString("D"), "occupied"));
            Assert.ThrowsAny<IOException>(() => inventory.Create(config, elsewhere));
            Assert.Empty(Directory.GetFileSystemEntries(elsewhere));
            Assert.Equal([config.Id.ToString("D")], Directory.GetFileSystemEntries(inventory.VmsDirectory).Select(Path.GetFileName));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    private CliResult Hyper(HostFixture host, params string[] args) => CliRunner.Run(output, [.. args, "--host-socket", host.SocketPath]);
}
