using HyperSharp.Api.V1;
using HyperSharp.Inventory.Workers;
using HyperSharp.Machine;
using HyperSharp.Vhdx.Operations;

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

    /// <summary>The attached disk as it is now (Get-VHD of a disk in use: its live size).</summary>
    public static DiskInfo Describe(VirtualMachine vm, WorkerRequest request) => DiskInfo.From(Image(vm, request));

    /// <summary>
    /// Resize-VHD of a disk in use: a grow at once, a shrink only down to where the guest's partitions (or its whole-disk
    /// file system) end — or, without either, its stored data — else refused saying how far it may go. The disk's device
    /// tells the guest (virtio-scsi: a capacity-change event; virtio-blk: a configuration change).
    /// </summary>
    public static DiskInfo Resize(VirtualMachine vm, WorkerRequest request)
    {
        var image = Image(vm, request);
        long size = request.SizeBytes;
        if (size <= 0 || size % image.LogicalSectorSize != 0)
            throw new ArgumentException($"{size} bytes: the size must be a positive multiple of the disk's {image.LogicalSectorSize}-byte logical sector size");
        bool pastLayout = false;
        if (size < image.Capacity)
        {
            long? layout = GuestLayout.End(image);
            long floor = layout ?? DiskInfo.From(image).MinimumSize;
            if (size < floor)
                throw new InvalidOperationException($"cannot shrink {image.Path} to {size} bytes while it is in use: the guest's partitions (or its file system, or its data) reach {floor} bytes; shrink them in the guest first, or shrink to {floor} bytes or more");
            // Past the guest's last partition (or its file system's end) nothing is the guest's, though blocks it once
            // wrote there may still be stored (a file system shrunk in the guest leaves them): those go, as in Hyper-V.
            pastLayout = layout is not null;
        }
        image.Resize(size, allowDataLoss: pastLayout);
        image.Flush();
        return DiskInfo.From(image);
    }

    private static HyperSharp.Vhdx.IVirtualDisk Image(VirtualMachine vm, WorkerRequest request) =>
        vm.AttachedImage(request.Path ?? throw new InvalidOperationException($"{request.Op} needs a path"))
            ?? throw new InvalidOperationException($"{request.Path} is not attached to the running VM");
}
