using HyperSharp.Host.Access;
using HyperSharp.Host.Service;
using HyperSharp.Host.Service.Domain;
using HyperSharp.Inventory;

namespace HyperSharp.Host.Tests.Cluster;

/// <summary>
/// A host that comes back (a cluster node after a failure) reads VM folders on shared storage that another node may run
/// now: a record Running for another host is left exactly as that host wrote it, and the VM is Off here; a record this
/// host (or an older build) wrote Running, with no worker left, is still recorded as ended.
/// </summary>
public sealed class SharedRuntimeRecordTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("hs-shared-rt-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("other-node:/var/lib/hypersharp", false)] // started by the node that took it over: not ours to write
    [InlineData(null, true)]                              // written by an older build: this host's, ended while it was down
    public void A_returning_host_leaves_alone_the_runtime_record_of_a_VM_another_host_started(string? startedBy, bool recordedAsEnded)
    {
        string inventory = Path.Combine(_root, "inv"), shared = Directory.CreateDirectory(Path.Combine(_root, "shared")).FullName;
        VmFolder folder;
        using (var first = new VmManager(inventory, ["/bin/false"], _ => { }))
        {
            first.Recover(); // the (empty) inventory read, its folders made
            folder = first.Configuration.Create(new NewVm("moved") { Path = shared }, ClientIdentity.Root).Folder;
        }
        var running = new VmRuntimeRecord { State = RecordedState.Running, StartedAtUnixMs = 1_700_000_000_000, Host = startedBy };
        VmInventory.Save(folder, running);
        string written = File.ReadAllText(folder.RuntimeFile);

        var log = new List<string>();
        using var back = new VmManager(inventory, ["/bin/false"], line => { lock (log) log.Add(line); });
        back.Recover();

        var vm = back.Find(id: null, name: "moved");
        Assert.Equal(PowerState.Off, vm.State);
        if (recordedAsEnded)
        {
            Assert.Equal(RecordedState.Off, InventoryJson.Read<VmRuntimeRecord>(folder.RuntimeFile)!.State);
            Assert.Contains("crashed or was killed", File.ReadAllText(folder.RuntimeFile));
        }
        else
        {
            Assert.Equal(written, File.ReadAllText(folder.RuntimeFile));
            Assert.Contains(log, l => l.Contains($"last started by {startedBy}"));
        }
    }
}
