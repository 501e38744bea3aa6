using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using Xunit;

namespace HyperSharp.Host.Tests;

/// <summary>
/// vm.json across builds: the file the build before the host/worker seam wrote (Fixtures/README.md) loads with this
/// build and is saved back as the current version; one written by a newer build is refused by name, by the reader and by
/// the inventory, and left as it was.
/// </summary>
public class VmConfigurationVersionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hs-vmjson-newer").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static string Newer(Guid id) =>
        $$$"""{"version":{{{VmConfiguration.CurrentVersion + 1}}},"id":"{{{id}}}","name":"from-the-future","boot":{"kernelPath":"/k"},"somethingNew":{"a":1}}""";

    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "vm-58b1e18.json");

    [Fact]
    public void The_vm_json_of_the_build_before_the_seam_loads_and_is_saved_back_as_the_current_version()
    {
        var inventory = new VmInventory(_dir);
        var id = Guid.Parse("6e81ad03-c6f2-45fd-af91-5703b0aee4ec");
        string folder = Path.Combine(inventory.VmsDirectory, id.ToString());
        Directory.CreateDirectory(folder);
        File.Copy(Fixture, Path.Combine(folder, "vm.json"));

        var entry = Assert.Single(inventory.Load(_ => { }));
        Assert.Null(entry.Damage);
        var c = entry.Configuration!;
        Assert.Equal((VmConfiguration.CurrentVersion, id, "made-by-58b1e18", "emulated"), (c.Version, c.Id, c.Name, c.Backend));
        Assert.Equal("written by HyperSharp 58b1e18, the build before the host/worker seam", c.Notes);
        Assert.Equal((2, 256L << 20, false, false), (c.Processor.Count, c.Memory.StartupBytes, c.Memory.DynamicMemoryEnabled, c.Memory.RuntimeResize));
        Assert.Equal(("/tmp/seam-old/vmlinuz", "console=ttyS0 quiet"), (c.Boot.KernelPath, c.Boot.CommandLine));
        var disk = Assert.Single(c.Disks);
        Assert.Equal((ControllerType.Scsi, 0, 0, "/tmp/seam-old/disks/data.vhdx", false), (disk.ControllerType, disk.ControllerNumber, disk.ControllerLocation, disk.Path, disk.ReadOnly));
        Assert.Equal(["Data Net", "Network Adapter"], c.NetworkAdapters.Select(a => a.Name));
        Assert.Equal(("00155D123456", false), (c.NetworkAdapters[0].MacAddress, c.NetworkAdapters[0].DynamicMacAddress));
        Assert.True(c.NetworkAdapters[1].DynamicMacAddress);
        // Device naming came later, without a version: adapters from before it keep showing their names to the guest, as they did.
        Assert.All(c.NetworkAdapters, a => Assert.Equal(((bool?)null, true, a.Name), (a.DeviceNaming, a.NamesDevice(), a.GuestLabel())));
        Assert.Empty(c.Checkpoints); // added in version 4
        Assert.True(c.IntegrationServices.Heartbeat && c.IntegrationServices.Shutdown); // added in version 5, Hyper-V's defaults
        Assert.Equal((AutomaticStopAction.Save, CheckpointType.Production), (c.AutomaticStopAction, c.CheckpointType));

        // Saved back, it is the current version and reads back the same.
        VmInventory.Save(new VmFolder(folder), c);
        Assert.Contains($"\"version\": {VmConfiguration.CurrentVersion}", File.ReadAllText(Path.Combine(folder, "vm.json")));
        Assert.Equal(c.NetworkAdapters, VmInventory.ReadConfiguration(Path.Combine(folder, "vm.json"))!.NetworkAdapters);
    }

    [Fact]
    public void The_reader_refuses_a_newer_version_naming_the_file_and_both_versions()
    {
        string file = Path.Combine(_dir, "vm.json");
        File.WriteAllText(file, Newer(Guid.NewGuid()));
        var e = Assert.Throws<InvalidDataException>(() => VmInventory.ReadConfiguration(file));
        Assert.Contains(file, e.Message);
        Assert.Contains($"configuration version {VmConfiguration.CurrentVersion + 1}", e.Message);
        Assert.Contains($"versions 1 to {VmConfiguration.CurrentVersion}", e.Message);
    }

    [Fact]
    public void The_inventory_lists_the_vm_as_damaged_and_leaves_its_file_untouched()
    {
        var inventory = new VmInventory(_dir);
        var id = Guid.NewGuid();
        string folder = Path.Combine(inventory.VmsDirectory, id.ToString());
        Directory.CreateDirectory(folder);
        string file = Path.Combine(folder, "vm.json");
        string text = Newer(id);
        File.WriteAllText(file, text);

        var entry = Assert.Single(inventory.Load(_ => { }), e => e.Id == id);
        Assert.NotNull(entry.Damage);
        Assert.Contains("written by a newer HyperSharp", entry.Damage);
        Assert.Equal(text, File.ReadAllText(file));
    }
}
