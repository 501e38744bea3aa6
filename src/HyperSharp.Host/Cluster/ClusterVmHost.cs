using HyperSharp.Cluster;
using HyperSharp.Host.Platform;
using HyperSharp.Host.Service;
using HyperSharp.Inventory;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Cluster;

/// <summary>What the cluster asks of this host, done with the host's own VMs: a failed-over VM registered from its folder and started, a fenced one turned off.</summary>
internal sealed class ClusterVmHost(VmManager manager, Migration.VmMigrations migrations, string? migrationAddress, Action<string> log) : IClusterHost
{
    public string? MigrationAddress => migrationAddress;

    public async Task MoveAsync(Guid vmId, string destination, CancellationToken cancel)
    {
        var vm = Find(vmId) ?? throw new ClusterException($"VM {vmId} is not on this host");
        try { await migrations.MoveAsync(vm, destination, cancel, sharedFolder: true).ConfigureAwait(false); }
        catch (HostException e) { throw new ClusterException(e.Message); }
    }

    public long FreeMemoryBytes() => HostMemory.AvailableBytes();

    public bool IsRunning(Guid vmId) => Find(vmId) is { State: not (PowerState.Off or PowerState.Saved) };

    public async Task StartAsync(GroupRecord group, CancellationToken cancel)
    {
        var vm = Find(group.VmId) ?? Register(group);
        if (vm.State is PowerState.Off or PowerState.Saved) await manager.Lifecycle.StartAsync(vm, cancel).ConfigureAwait(false);
    }

    public async Task TurnOffAsync(Guid vmId)
    {
        if (Find(vmId) is { } vm) await manager.Lifecycle.StopAsync(vm, new StopOptions(TurnOff: true), CancellationToken.None).ConfigureAwait(false);
    }

    public async Task FenceAsync(Guid vmId)
    {
        // A start already in flight may launch a worker after the first kill: killed again until none runs.
        while (Find(vmId) is { WorkerPid: > 0 } vm)
            await manager.Lifecycle.KillAsync(vm, "its cluster node lost its lease (fenced)").ConfigureAwait(false);
    }

    public async Task<bool> ForgetAsync(Guid vmId)
    {
        if (Find(vmId) is not { } vm) return false;
        if (IsRunning(vmId))
        {
            log($"cluster: VM '{vm.Name}' runs here but another node owns it: turning it off");
            await TurnOffAsync(vmId).ConfigureAwait(false);
        }
        if (vm.Folder.Location == vm.Folder.Path) return false; // not a link: never a clustered VM's shared folder
        manager.Inventory.Unlink(vm.Folder);
        manager.Unregister(vm);
        return true;
    }

    private ManagedVm? Find(Guid id) => manager.List(null).FirstOrDefault(vm => vm.Id == id);

    /// <summary>The VM another node ran, listed here from its folder on shared storage: Off until it starts here.</summary>
    private ManagedVm Register(GroupRecord group)
    {
        var entry = manager.Inventory.Link(group.VmFolder, group.VmId);
        if (entry.Damage is { } damage) throw new ClusterException($"VM folder {group.VmFolder} of group '{group.Name}' cannot be used here: {damage}");
        // Its runtime record is the last owner's (Running, most likely): here it has not started yet.
        var vm = new ManagedVm(entry.Folder, entry.Configuration!, new VmRuntimeRecord());
        manager.Register(vm);
        log($"cluster: VM '{vm.Name}' of group '{group.Name}' registered here from {group.VmFolder}");
        return vm;
    }
}
