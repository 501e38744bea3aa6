using HyperSharp.Inventory.Platform;

namespace HyperSharp.Inventory;

/// <summary>
/// A VM folder made but not yet in the inventory (ROOT/vms/.new-ID): <see cref="Commit"/> renames it in, the one step
/// that makes the VM exist; disposing it uncommitted removes the folder (and, for New-VM -Path, the link and the folder
/// elsewhere). What else the creation makes (a new disk) is made between the two, so it can be undone with it.
/// </summary>
public sealed class StagedVm(VmInventory inventory, string staging, string final) : IDisposable
{
    private bool _done;

    /// <summary>The staged folder, to write into before the commit.</summary>
    public VmFolder Folder { get; } = new(staging);

    public VmFolder Commit()
    {
        Posix.Rename(staging, final);
        _done = true;
        Posix.FsyncDirectory(inventory.VmsDirectory);
        return new VmFolder(final);
    }

    public void Dispose()
    {
        if (_done) return;
        _done = true;
        inventory.DeleteEntry(staging);
    }
}
