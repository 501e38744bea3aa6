using HyperSharp.Inventory;
using Xunit;

namespace HyperSharp.Host.Tests;

/// <summary>A vm.json written by a newer build is refused by name, by the reader and by the inventory, and left as it was.</summary>
public class VmConfigurationVersionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hs-vmjson-newer").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static string Newer(Guid id) =>
        $$$"""{"version":{{{VmConfiguration.CurrentVersion + 1}}},"id":"{{{id}}}","name":"from-the-future","boot":{"kernelPath":"/k"},"somethingNew":{"a":1}}""";

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
