using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Pci.Hotplug;
using HyperSharp.Machine.State;
using HyperSharp.Machine.Virtio.Scsi;
using HyperSharp.Vhdx;

namespace HyperSharp.Machine;

/// <summary>
/// The VM's SCSI controllers (Hyper-V's, on virtio-scsi): a controller per PCI slot, placed when the VM is built, and the
/// disks at their locations, which come and go while the VM runs without a PCI slot of their own (the guest hears of them
/// through the controller's event queue). Safe to call from any thread. Images are opened on attach and flushed and
/// closed once a removed disk's last request has finished. Each image sits in a <see cref="SwitchableDisk"/>, as a
/// virtio-blk disk's does, so checkpoints and a live migration's handover treat both buses alike (<see cref="AttachedDisks"/>).
/// </summary>
public sealed class ScsiControllers : IDisposable
{
    /// <summary>SCSI controllers a VM may have (Hyper-V's Generation 2 limit); each has <see cref="LocationsPerController"/> locations.</summary>
    public const int MaxControllers = 4, LocationsPerController = VirtioScsi.LunCount;

    private sealed record Entry(VirtioScsiDevice Device, int Slot, Dictionary<int, (ScsiDiskAttachment Attachment, SwitchableDisk Disk)> Disks);

    private readonly PciSlots _slots;
    private readonly DeviceStateRegistry _states;
    private readonly GuestRam _ram;
    private readonly int _requestQueues;
    private readonly List<Entry> _controllers = [];
    private readonly object _lock = new();

    internal ScsiControllers(PciSlots slots, DeviceStateRegistry states, GuestRam ram, int requestQueues)
    {
        _slots = slots;
        _states = states;
        _ram = ram;
        _requestQueues = Math.Clamp(requestQueues, 1, VirtioScsiDevice.MaxRequestQueues);
    }

    /// <summary>
    /// Writable images are not opened by <see cref="Attach"/> but stand in as <see cref="DetachedDisk"/>s, for a VM arriving by
    /// live migration (see <see cref="VmDisks.OpenWritableLater"/>). Shared disks are opened at once: other writers may hold them.
    /// </summary>
    public bool OpenWritableLater { get; set; }

    /// <summary>Adds a controller with its disks (at build time: controllers are not hot-plugged, as in Hyper-V); returns its number.</summary>
    internal int Add(ScsiControllerAttachment controller)
    {
        int number;
        Entry entry;
        lock (_lock)
        {
            number = _controllers.Count;
            if (number >= MaxControllers) throw new InvalidOperationException($"a VM has at most {MaxControllers} SCSI controllers");
            var device = new VirtioScsiDevice($"scsi{number}", _ram, _requestQueues);
            int slot = _slots.Plug(device, owner: null, controller.Label, controller.Slot, hot: false, removable: false);
            entry = new Entry(device, slot, []);
            _controllers.Add(entry);
            _states.Add($"scsi/{number}", device.SaveState, device.RestoreState); // after its transport's record, which re-activates the queues
        }
        foreach (var disk in controller.Disks) Attach(number, disk);
        return number;
    }

    /// <summary>
    /// Opens the image and puts it at its location on controller <paramref name="controller"/>; a running guest is told to
    /// scan that LUN and its disk appears as /sys/class/scsi_disk/H:0:0:LOCATION.
    /// </summary>
    public void Attach(int controller, ScsiDiskAttachment disk)
    {
        var entry = ControllerAt(controller);
        if (disk.Location is < 0 or >= LocationsPerController)
            throw new ArgumentOutOfRangeException(nameof(disk), $"SCSI location {disk.Location}: controller {controller} has locations 0 to {LocationsPerController - 1}");
        lock (_lock)
            if (entry.Disks.TryGetValue(disk.Location, out var present))
                throw new InvalidOperationException($"SCSI controller {controller} location {disk.Location} already holds {present.Attachment.Path}");
        var image = new SwitchableDisk(OpenWritableLater && !disk.ReadOnly && !disk.Shared
            ? new DetachedDisk(disk.Path)
            : VirtualDisk.Open(disk.Path, new DiskOpenOptions { ReadOnly = disk.ReadOnly, Shared = disk.Shared }));
        try
        {
            lock (_lock)
            {
                entry.Device.Attach(disk.Location, image, disk.ReadOnly, disk.Shared, SerialOf(disk.Label));
                entry.Disks[disk.Location] = (disk, image);
            }
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Takes the disk at <paramref name="location"/> off controller <paramref name="controller"/>: the guest is told it is
    /// gone, and the task completes once the requests using it have finished and the image is flushed and closed.
    /// </summary>
    public async Task DetachAsync(int controller, int location)
    {
        var entry = ControllerAt(controller);
        lock (_lock)
            if (!entry.Disks.ContainsKey(location))
                throw new InvalidOperationException($"SCSI controller {controller} location {location} holds no disk (disks are at {string.Join(", ", entry.Disks.Keys.Order())})");
        var image = await entry.Device.DetachAsync(location).ConfigureAwait(false);
        lock (_lock) entry.Disks.Remove(location);
        if (!image.IsReadOnly) image.Flush();
        image.Dispose();
    }

    /// <summary>The open image at a location (Resize-VHD on a running VM goes through it), or null.</summary>
    public IVirtualDisk? DiskAt(int controller, int location)
    {
        lock (_lock) return controller >= 0 && controller < _controllers.Count && _controllers[controller].Disks.TryGetValue(location, out var d) ? d.Disk : null;
    }

    /// <summary>Where the disk whose image is <paramref name="path"/> sits, or null.</summary>
    public (int Controller, int Location)? Find(string path)
    {
        lock (_lock)
            for (int c = 0; c < _controllers.Count; c++)
                foreach (var (location, d) in _controllers[c].Disks)
                    if (d.Disk.Path == path) return (c, location);
        return null;
    }

    /// <summary>Every disk's image holder, for checkpoints and a migration's handover.</summary>
    internal IReadOnlyList<(ScsiDiskAttachment Attachment, SwitchableDisk Disk)> Disks
    {
        get { lock (_lock) return [.. _controllers.SelectMany(c => c.Disks.Values)]; }
    }

    /// <summary>Sets the Storage QoS of the disk whose attachment carries <paramref name="label"/>; false when none does.</summary>
    internal bool SetQos(string label, long maximumIops, long minimumIops, Action<long, TimeSpan>? belowMinimum)
    {
        (VirtioScsiDevice Device, int Location)? found = null;
        lock (_lock)
            foreach (var c in _controllers)
                foreach (var (location, d) in c.Disks)
                    if (d.Attachment.Label == label) found = (c.Device, location);
        return found is { } f && f.Device.SetQos(f.Location, maximumIops, minimumIops, belowMinimum);
    }

    public int Count { get { lock (_lock) return _controllers.Count; } }

    /// <summary>The controllers as they are now — disks, slots and labels — as a saved configuration records them.</summary>
    public ScsiControllerAttachment[] Attachments()
    {
        lock (_lock)
            return [.. _controllers.Select(c => new ScsiControllerAttachment
            {
                Disks = [.. c.Disks.Values.Select(d => d.Attachment with { Path = d.Disk.Path }).OrderBy(d => d.Location)], // a checkpoint may have switched the image
                Slot = c.Slot,
                Label = _slots.Controller.GetLabel(c.Slot),
            })];
    }

    /// <summary>
    /// The unit serial number (VPD page 80h) a LUN reports: the drive's name when it has one that fits (printable ASCII,
    /// up to 64 characters), so the guest reads which drive this is as a virtio-blk disk's slot label tells it; else the
    /// controller's default. Saved with the configuration, so a restored guest finds the same serial.
    /// </summary>
    private static string? SerialOf(string? label) =>
        label is { Length: > 0 and <= 64 } && label.All(c => c is >= ' ' and <= '~') ? label : null;

    private Entry ControllerAt(int controller)
    {
        lock (_lock)
            return controller >= 0 && controller < _controllers.Count ? _controllers[controller]
                : throw new ArgumentOutOfRangeException(nameof(controller), $"SCSI controller {controller} does not exist (this VM has {_controllers.Count})");
    }

    /// <summary>Closes every image (the VM is going away; the controllers' queue threads were stopped before).</summary>
    public void Dispose()
    {
        List<SwitchableDisk> images = [];
        lock (_lock)
        {
            foreach (var c in _controllers)
            {
                c.Device.Dispose();
                images.AddRange(c.Disks.Values.Select(d => d.Disk));
                c.Disks.Clear();
            }
        }
        foreach (var image in images) image.Dispose();
    }
}
