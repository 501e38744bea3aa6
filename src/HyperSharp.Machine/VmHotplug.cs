using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Pci.Hotplug;
using HyperSharp.Machine.State;
using HyperSharp.Machine.Virtio;
using HyperSharp.Machine.Virtio.Net;

namespace HyperSharp.Machine;

/// <summary>
/// Devices that come and go while the VM runs (ACPI PCI hotplug on bus 0), callable from any thread: disks
/// (Add-VMHardDiskDrive / Remove-VMHardDiskDrive on a running VM), network adapters, any virtio device, and the
/// per-slot firmware labels the guest reads (renamable at any time). The VM holds one as <see cref="VirtualMachine.Hotplug"/>.
/// </summary>
public sealed class VmHotplug
{
    private readonly PciSlots _slots;
    private readonly VmDisks _disks;
    private readonly GuestRam _ram;
    private readonly DeviceStateRegistry _devices;
    private readonly int _adapterQueuePairs;

    /// <param name="adapterQueuePairs">Queue pairs a hot-added network adapter offers: as many as the cold-plugged ones.</param>
    internal VmHotplug(PciSlots slots, VmDisks disks, GuestRam ram, DeviceStateRegistry devices, int adapterQueuePairs)
    {
        (_slots, _disks, _ram, _devices, _adapterQueuePairs) = (slots, disks, ram, devices, adapterQueuePairs);
    }

    /// <summary>How long a removal waits for the guest to eject the device, unless the caller says otherwise.</summary>
    public static readonly TimeSpan DefaultEjectTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Network adapters a VM may have: Hyper-V's limit.</summary>
    public const int MaxNetworkAdapters = 68;

    /// <summary>The id a network adapter's saved state goes under.</summary>
    internal static string NetworkAdapterStateId(string name) => $"net/{name}";

    /// <summary>
    /// Hot-adds a disk image (VHDX, VHD or raw) as virtio-blk in the first free PCI slot and tells the guest; returns the slot.
    /// The guest's block device appears once its OS has handled the ACPI Device Check.
    /// </summary>
    public int AddDisk(string path, bool readOnly = false, string? label = null) =>
        _disks.Attach(new DiskAttachment(path, readOnly) { Label = label }, hot: true);

    /// <summary>
    /// Removes the disk in <paramref name="slot"/>: asks the guest to eject it and completes once the guest has let go and
    /// the image is flushed and closed; fails with <see cref="TimeoutException"/> if the guest does not within the timeout
    /// (the disk stays). With <paramref name="surprise"/> the disk is pulled at once, whatever the guest is doing with it.
    /// </summary>
    public Task RemoveDiskAsync(int slot, TimeSpan? timeout = null, bool surprise = false, CancellationToken cancel = default) =>
        _disks.RemoveAsync(slot, timeout ?? DefaultEjectTimeout, surprise, cancel);

    /// <summary>
    /// Hot-adds a virtio device in the first free PCI slot and returns the slot. <paramref name="owner"/> is disposed once
    /// the device has left the VM (after an eject, a surprise removal, or never if it stays until the VM is disposed).
    /// </summary>
    public int AddDevice(IVirtioDevice device, string? label = null, IDisposable? owner = null) =>
        _slots.Plug(device, owner, label, slot: null, hot: true);

    /// <summary>
    /// Hot-adds a network adapter as virtio-net (as many queue pairs as the cold-plugged ones) in the first free PCI slot,
    /// labelled with <see cref="NetworkAdapterAttachment.Label"/> when it has one, plugged into its switch port first when
    /// it has one, so the guest's driver finds the link up. Remove it with <see cref="RemoveDeviceAsync"/>; it is disposed
    /// (its link closed) once it has left the VM.
    /// </summary>
    public (VirtioNetDevice Device, int Slot) AddNetworkAdapter(NetworkAdapterAttachment nic)
    {
        int present = _slots.CountOf<VirtioNetDevice>();
        if (present >= MaxNetworkAdapters)
            throw new InvalidOperationException($"cannot add network adapter {nic.Name}: a VM has at most {MaxNetworkAdapters} network adapters and this one has {present}");
        var device = new VirtioNetDevice(nic.Name, nic.Mac, _ram, _adapterQueuePairs);
        string stateId = NetworkAdapterStateId(nic.Name);
        var leave = new LeaveAction(() =>
        {
            _devices.Remove(stateId);
            device.Dispose();
        });
        try
        {
            if (nic.Connect is { } connect) device.Connect(connect());
            int slot = _slots.Plug(device, leave, nic.Label, slot: null, hot: true);
            _devices.Add(stateId, device.SaveState, device.RestoreState); // after its transport's, as the builder does: a save holds it, a restore finds it
            return (device, slot);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    /// <summary>What runs once a hot-added device has left the bus.</summary>
    private sealed class LeaveAction(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    /// <summary>Asks the guest to eject the device in <paramref name="slot"/>; completes when it has and the owner let go.</summary>
    public Task RemoveDeviceAsync(int slot, TimeSpan? timeout = null, CancellationToken cancel = default) =>
        _slots.UnplugAsync(slot, timeout ?? DefaultEjectTimeout, cancel);

    /// <summary>Pulls the device out of <paramref name="slot"/> at once, without the guest's consent.</summary>
    public Task SurpriseRemoveDevice(int slot) => _slots.SurpriseUnplug(slot);

    /// <summary>Sets or renames (null clears) the label of a PCI slot; the guest sees it on its next read.</summary>
    public void SetSlotLabel(int slot, string? label) => _slots.Controller.SetLabel(slot, label);

    public string? GetSlotLabel(int slot) => _slots.Controller.GetLabel(slot);

    /// <summary>The PCI slot a device sits in (a cold-plugged adapter's, say), or null when it is not on the bus.</summary>
    public int? SlotOf(IVirtioDevice device) => _slots.SlotOf(device);
}
