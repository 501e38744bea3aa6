using HyperSharp.Api.V1;
using HyperSharp.Inventory;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Service;

/// <summary>
/// Add-/Get-/Remove-VMScsiController: the VM's SCSI controllers as its configuration keeps them. A controller is a
/// virtio-scsi PCI device placed when the worker builds the machine, so the count changes only while the VM is Off (a
/// saved VM is rebuilt with the devices it was saved with, so it is refused too, as its drives are).
/// </summary>
public sealed class VmScsiControllers(VmConfigurationStore store, VmLifecycle lifecycle)
{
    /// <summary>The drives on each controller, controller 0 first.</summary>
    public static IReadOnlyList<(int Number, List<DiskSettings> Drives)> List(ManagedVm vm)
    {
        var config = vm.Config;
        return [.. Enumerable.Range(0, config.ScsiControllerCount()).Select(n => (n, config.Disks
            .Where(d => d.ControllerType == ControllerType.Scsi && d.ControllerNumber == n).OrderBy(d => d.ControllerLocation).ToList()))];
    }

    /// <summary>Refuses a SCSI drive on a controller the VM does not have, saying how many it has and how to add one.</summary>
    public static void Require(ManagedVm vm, int number)
    {
        int count = vm.Config.ScsiControllerCount();
        if (number >= count)
            throw HostErrors.NotFound($"VM '{vm.Name}' has no SCSI controller {number}: it has {count} (numbers 0 to {count - 1}); add one with Add-VMScsiController");
    }

    /// <summary>Adds a controller (numbered after the last); refused beyond <see cref="RequestValidation.MaxControllers"/> or while the VM runs.</summary>
    public int Add(ManagedVm vm)
    {
        using var _ = lifecycle.Begin(vm, "changing the SCSI controllers of");
        RequireOff(vm, "add a SCSI controller to");
        int count = vm.Config.ScsiControllerCount();
        if (count >= RequestValidation.MaxControllers)
            throw HostErrors.Precondition($"VM '{vm.Name}' already has {count} SCSI controllers, the most a VM can have");
        store.Commit(vm, vm.Config with { ScsiControllers = count + 1 });
        return count;
    }

    /// <summary>
    /// Removes controller <paramref name="number"/>, which must hold no drive (refused naming them); the controllers after it
    /// take the numbers one lower, with their drives, as Hyper-V renumbers them.
    /// </summary>
    public void Remove(ManagedVm vm, int number)
    {
        using var _ = lifecycle.Begin(vm, "changing the SCSI controllers of");
        var config = vm.Config;
        int count = config.ScsiControllerCount();
        if (number < 0 || number >= count)
            throw HostErrors.NotFound($"VM '{vm.Name}' has no SCSI controller {number}: it has {count} (numbers 0 to {count - 1})");
        RequireOff(vm, "remove a SCSI controller of");
        var held = config.Disks.Where(d => d.ControllerType == ControllerType.Scsi && d.ControllerNumber == number).ToList();
        if (held.Count > 0)
            throw HostErrors.Precondition($"SCSI controller {number} of VM '{vm.Name}' holds {string.Join(", ", held.Select(d => $"'{d.DriveName()}' ({d.Path})"))}: remove its drives first");
        store.Commit(vm, config with
        {
            ScsiControllers = count - 1,
            Disks = [.. config.Disks.Select(d => d.ControllerType == ControllerType.Scsi && d.ControllerNumber > number ? d with { ControllerNumber = d.ControllerNumber - 1 } : d)],
        });
    }

    /// <summary>The controllers are PCI devices of the built machine: a VM that runs, or was saved running, keeps the ones it has.</summary>
    private static void RequireOff(ManagedVm vm, string operation)
    {
        if (vm.State != PowerState.Off)
            throw HostErrors.Precondition($"cannot {operation} VM '{vm.Name}' while it is {StateNames.Of(vm.State)}: its SCSI controllers are PCI devices placed when it starts; turn it off first");
    }
}
