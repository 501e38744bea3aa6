using HyperSharp.Host.Service;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;
using HyperSharp.Vhdx.Operations;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Vhd;

/// <summary>Get-VHD's Attached from the host's inventory (a disk is attached when any VM's configuration lists it), and a running VM's disks through its worker.</summary>
internal sealed class InventoryDiskAttachments(VmManager manager) : IDiskAttachments
{
    public bool IsAttached(string fullPath) => UserOf(fullPath) is not null;

    public async Task<DiskInfo?> InUseAsync(string fullPath, long? resizeTo, CancellationToken cancellationToken)
    {
        if (UserOf(fullPath) is not { } vm || vm.State is not (PowerState.Running or PowerState.Paused)) return null;
        var request = new WorkerRequest
        {
            Op = resizeTo is null ? WorkerOps.DescribeDisk : WorkerOps.ResizeDisk, SizeBytes = resizeTo ?? 0,
            Path = vm.Config.Disks.First(d => Same(d.Path, fullPath)).Path,
        };
        try { return (await manager.Lifecycle.Workers.SendAsync(vm, request, cancellationToken).ConfigureAwait(false)).Disk; }
        catch (WorkerException e) { throw HostErrors.Precondition($"{fullPath} is in use by VM '{vm.Name}', which is {StateNames.Of(vm.State)}: {e.Message}"); }
    }

    private ManagedVm? UserOf(string fullPath)
    {
        foreach (var vm in manager.List(null))
            foreach (var disk in vm.Config.Disks)
                if (Same(disk.Path, fullPath)) return vm;
        return null;
    }

    private static bool Same(string path, string fullPath) => string.Equals(Path.GetFullPath(path), fullPath, StringComparison.Ordinal);
}
