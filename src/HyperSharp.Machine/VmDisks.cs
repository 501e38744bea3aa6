using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Pci.Hotplug;
using HyperSharp.Machine.Virtio.Block;
using HyperSharp.Vhdx;

namespace HyperSharp.Machine;

/// <summary>
/// The VM's virtio-blk disks: which image sits in which PCI slot, attaching one (at build time or
/// while the VM runs), removing one (after the guest let go: flushed, then closed), and the list
/// of attachments — with slots and current labels — that a saved configuration records.
/// </summary>
internal sealed class VmDisks(PciSlots slots, GuestRam ram, int queueCount) : IDisposable
{
    private sealed record Entry(int Slot, DiskAttachment Attachment, SwitchableDisk Disk, VirtioBlockDevice Device);

    private readonly List<Entry> _entries = [];
    private readonly object _lock = new();
    private int _named;

    /// <summary>
    /// Writable images are not opened by <see cref="Attach"/> but stand in as <see cref="DetachedDisk"/>s: a VM arriving by live
    /// migration is built while the source still holds them, and opens them in the pause (<see cref="Migration.DiskHandover"/>).
    /// </summary>
    public bool OpenWritableLater { get; set; }

    /// <summary>Opens the image and puts it in a PCI slot (its own, or the first free); returns the slot.</summary>
    public int Attach(DiskAttachment attachment, bool hot)
    {
        var disk = new SwitchableDisk(OpenWritableLater && !attachment.ReadOnly
            ? new DetachedDisk(attachment.Path)
            : VirtualDisk.Open(attachment.Path, new DiskOpenOptions { ReadOnly = attachment.ReadOnly }));
        VirtioBlockDevice? device = null;
        try
        {
            device = new VirtioBlockDevice(DeviceName(Interlocked.Increment(ref _named) - 1), disk, ram, queueCount);
            var release = new ReleaseHandle();
            int slot = slots.Plug(device, release, attachment.Label, attachment.Slot, hot);
            var entry = new Entry(slot, attachment with { Slot = slot }, disk, device);
            lock (_lock) _entries.Add(entry);
            release.Action = () => Release(entry);
            return slot;
        }
        catch
        {
            device?.Dispose();
            disk.Dispose();
            throw;
        }
    }

    /// <summary>Takes the disk in <paramref name="slot"/> out: with the guest's consent (ACPI eject) or by surprise.</summary>
    public Task RemoveAsync(int slot, TimeSpan timeout, bool surprise, CancellationToken cancel)
    {
        lock (_lock)
            if (!_entries.Exists(e => e.Slot == slot))
                throw new InvalidOperationException($"PCI slot {slot} holds no disk (disks are in slots {string.Join(", ", _entries.Select(e => e.Slot))})");
        return surprise ? slots.SurpriseUnplug(slot) : slots.UnplugAsync(slot, timeout, cancel);
    }

    public IReadOnlyList<IVirtualDisk> Disks { get { lock (_lock) return _entries.Select(e => e.Disk).ToArray(); } }

    /// <summary>The disks attached writable, whose images a live migration hands over.</summary>
    public IReadOnlyList<SwitchableDisk> Writable { get { lock (_lock) return _entries.Where(e => !e.Attachment.ReadOnly).Select(e => e.Disk).ToArray(); } }

    /// <summary>Sets the Storage QoS of the disk whose slot carries <paramref name="label"/>, then serves its queues again; false when none does.</summary>
    public bool SetQos(string label, long maximumIops, long minimumIops, Action<long, TimeSpan>? belowMinimum)
    {
        Entry? entry;
        lock (_lock) entry = _entries.FirstOrDefault(e => (slots.Controller.GetLabel(e.Slot) ?? e.Attachment.Label) == label);
        if (entry is null) return false;
        entry.Device.Qos.BelowMinimum = belowMinimum;
        entry.Device.Qos.Set(maximumIops, minimumIops);
        entry.Device.ServeAll();
        return true;
    }

    /// <summary>The disks as attachments: path, read-only, slot and the label the slot carries now.</summary>
    public DiskAttachment[] Attachments()
    {
        // The path is the image's now: a checkpoint may have switched the disk to a differencing child.
        lock (_lock) return _entries.Select(e => e.Attachment with { Path = e.Disk.Path, Label = slots.Controller.GetLabel(e.Slot) }).ToArray();
    }

    /// <summary>The disk left the bus: drop it from the list, then flush and close its image.</summary>
    private void Release(Entry entry)
    {
        lock (_lock) if (!_entries.Remove(entry)) return;
        entry.Device.Dispose();
        if (!entry.Disk.IsReadOnly) entry.Disk.Flush();
        entry.Disk.Dispose();
    }

    private static string DeviceName(int n) => n < 26 ? $"vd{(char)('a' + n)}" : $"vd{(char)('a' + n / 26 - 1)}{(char)('a' + n % 26)}";

    public void Dispose()
    {
        Entry[] left;
        lock (_lock) { left = [.. _entries]; _entries.Clear(); }
        foreach (var e in left) { e.Device.Dispose(); e.Disk.Dispose(); }
    }

    /// <summary>The owner handle PciSlots disposes once the device has left the bus.</summary>
    private sealed class ReleaseHandle : IDisposable
    {
        public Action? Action { get; set; }
        public void Dispose() => Action?.Invoke();
    }
}
