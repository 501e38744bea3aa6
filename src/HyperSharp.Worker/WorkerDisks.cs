using HyperSharp.Api.V1;
using HyperSharp.Inventory.Workers;
using HyperSharp.Machine;

namespace HyperSharp.Worker;

/// <summary>
/// The host's add-disk and remove-disk on the running VM: a SCSI drive becomes (or stops being) a LUN of its controller —
/// the guest hears of it through the controller's own hotplug event, no PCI slot is used — and any other drive a
/// virtio-blk device in a hotplug slot (the way drives went before the host knew their controller).
/// </summary>
internal static class WorkerDisks
{
    /// <summary>Attaches the drive; returns where it went, for the log.</summary>
    public static string Add(VirtualMachine vm, WorkerRequest request)
    {
        string path = request.Path ?? throw new InvalidOperationException("add-disk needs a path");
        if (request.Drive is { ControllerType: ControllerType.Scsi } drive)
        {
            vm.Scsi.Attach(drive.ControllerNumber, new ScsiDiskAttachment(path, drive.ControllerLocation, request.ReadOnly) { Label = request.Label });
            return $"on SCSI controller {drive.ControllerNumber} at location {drive.ControllerLocation}";
        }
        return $"in PCI slot {vm.Hotplug.AddDisk(path, request.ReadOnly, request.Label)}";
    }

    /// <summary>
    /// Detaches the drive whose image is the request's path; completes once the guest let go and the image is flushed and
    /// closed (a virtio-blk disk: the guest's ACPI eject, within <paramref name="ejectTimeout"/>). Returns where it was.
    /// </summary>
    public static async Task<string> RemoveAsync(VirtualMachine vm, WorkerRequest request, TimeSpan ejectTimeout)
    {
        if (vm.Scsi.Find(request.Path ?? "") is { } lun)
        {
            await vm.Scsi.DetachAsync(lun.Controller, lun.Location).ConfigureAwait(false);
            return $"SCSI controller {lun.Controller} location {lun.Location}";
        }
        var attached = vm.DiskAttachments.FirstOrDefault(d => d.Path == request.Path)
            ?? throw new InvalidOperationException($"{request.Path} is not attached to the running VM");
        await vm.Hotplug.RemoveDiskAsync(attached.Slot!.Value, ejectTimeout).ConfigureAwait(false);
        return $"PCI slot {attached.Slot}";
    }
}
