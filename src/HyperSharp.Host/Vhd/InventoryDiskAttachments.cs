using HyperSharp.Host.Service;

namespace HyperSharp.Host.Vhd;

/// <summary>Get-VHD's Attached from the host's inventory: a disk is attached when any VM's configuration lists it.</summary>
internal sealed class InventoryDiskAttachments(VmManager manager) : IDiskAttachments
{
    public bool IsAttached(string fullPath)
    {
        foreach (var vm in manager.List(null))
            foreach (var disk in vm.Config.Disks)
                if (string.Equals(Path.GetFullPath(disk.Path), fullPath, StringComparison.Ordinal)) return true;
        return false;
    }
}
