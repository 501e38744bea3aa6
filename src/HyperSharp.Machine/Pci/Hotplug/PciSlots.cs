using HyperSharp.Machine.Devices.Pm;
using HyperSharp.Machine.State;
using HyperSharp.Machine.Virtio;
using HyperSharp.Machine.Virtio.Pci;

namespace HyperSharp.Machine.Pci.Hotplug;

/// <summary>
/// The host's view of the slots of bus 0: puts virtio devices in (at build time, with BARs placed as
/// firmware would, or while the VM runs, announced to the guest), takes them out (the guest's
/// consent through ACPI eject, or by surprise), and labels them. Safe to call from any thread
/// while vCPUs run. What a device's owner must do when it leaves (flush and close a disk...) is its
/// <see cref="IDisposable"/>, run off the vCPU threads.
/// </summary>
internal sealed class PciSlots : IDisposable
{
    private sealed class Occupant(VirtioPciDevice device, IDisposable? owner, bool removable)
    {
        public VirtioPciDevice Device { get; } = device;
        public IDisposable? Owner { get; } = owner;
        public bool Removable { get; } = removable;
        public TaskCompletionSource? Removed { get; set; }
    }

    private readonly PciRoot _pci;
    private readonly DeviceStateRegistry _states;
    private readonly Func<int, IVirtioDevice, VirtioPciDevice> _transport;
    private readonly Action<string> _log;
    private readonly Occupant?[] _occupants = new Occupant?[PciHotplugRegisters.SlotCount];
    private readonly object _lock = new();
    private ulong _nextBar;
    private uint _stale; // slots emptied by surprise that the guest may still think are occupied

    /// <param name="transport">wraps a virtio device in its PCI transport for a slot (interrupt routing is per slot)</param>
    /// <param name="firstBar">where firmware-style BAR placement of cold-plugged devices starts</param>
    public PciSlots(PciRoot pci, DeviceStateRegistry states, GpeBlock gpe, Func<int, IVirtioDevice, VirtioPciDevice> transport, ulong firstBar, Action<string> log)
    {
        _pci = pci;
        _states = states;
        _transport = transport;
        _nextBar = firstBar;
        _log = log;
        Controller = new PciHotplugController(gpe, Occupied, OnEjected);
    }

    public PciHotplugController Controller { get; }

    /// <summary>
    /// Puts a device in <paramref name="slot"/> (or the first free one) and returns the slot. Cold: its BARs are placed and
    /// decoding enabled, as firmware does before the OS. Hot: the guest assigns them after the Device Check it is sent.
    /// A device that is not <paramref name="removable"/> stays whatever the guest's _EJ0 says (the platform's own devices).
    /// </summary>
    public int Plug(IVirtioDevice device, IDisposable? owner, string? label, int? slot, bool hot, bool removable = true)
    {
        int s;
        lock (_lock)
        {
            s = slot ?? FreeSlot();
            if (s < PciHotplugRegisters.FirstSlot || s >= PciHotplugRegisters.SlotCount)
                throw new InvalidOperationException(slot is null ? $"no free PCI slot for {device.Name}: all 31 are in use; remove a device first" : $"PCI slot {slot} does not exist (1 to 31)");
            if (_pci[s] is { } present) throw new InvalidOperationException($"PCI slot {s} already holds {present.Name}");
            Controller.SetLabel(s, label); // validates before anything is attached
            var transport = _transport(s, device);
            if (!hot) AssignBars(transport);
            _pci.Add(s, transport);
            _states.Add(StateId(s), transport.SaveState, transport.RestoreState);
            _occupants[s] = new Occupant(transport, owner, removable);
        }
        if (hot) Controller.DeviceAdded(s);
        return s;
    }

    /// <summary>Asks the guest to eject the slot's device; completes once it has and the owner let go, or fails after <paramref name="timeout"/>.</summary>
    public async Task UnplugAsync(int slot, TimeSpan timeout, CancellationToken cancel = default)
    {
        Task removed;
        string name;
        lock (_lock)
        {
            var occupant = OccupantOf(slot);
            occupant.Removed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            removed = occupant.Removed.Task;
            name = occupant.Device.Name;
        }
        Controller.RequestEject(slot);
        try { await removed.WaitAsync(timeout, cancel).ConfigureAwait(false); }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the guest did not eject {name} from PCI slot {slot} within {timeout.TotalSeconds:0.#} s (its OS lacks ACPI PCI hotplug, or the device is in use); " +
                "the request stays pending, or remove the device by surprise to take it away now");
        }
    }

    /// <summary>
    /// Takes the device out at once, whatever the guest is doing with it (a pulled card); completes when the owner let go.
    /// The guest gets Device Check, but Linux's acpiphp only rescans for arrivals there, so it may keep a stale device
    /// in that slot: the slot is not offered to later hot-adds until the guest ejects it (or the VM is rebuilt).
    /// </summary>
    public Task SurpriseUnplug(int slot)
    {
        lock (_lock) { OccupantOf(slot); _stale |= 1u << slot; }
        var done = Remove(slot);
        Controller.DeviceVanished(slot);
        return done;
    }

    /// <summary>The slot <paramref name="device"/> sits in, or null when it is not (or no longer) on the bus.</summary>
    public int? SlotOf(IVirtioDevice device)
    {
        lock (_lock)
            for (int s = PciHotplugRegisters.FirstSlot; s < PciHotplugRegisters.SlotCount; s++)
                if (_occupants[s]?.Device.Inner == device) return s;
        return null;
    }

    /// <summary>Slots holding a device (bit per slot; bit 0 is the host bridge).</summary>
    public uint Occupied()
    {
        uint bits = 0;
        for (int s = 0; s < PciHotplugRegisters.SlotCount; s++) if (_pci[s] is not null) bits |= 1u << s;
        return bits;
    }

    private Occupant OccupantOf(int slot) =>
        slot is >= PciHotplugRegisters.FirstSlot and < PciHotplugRegisters.SlotCount && _occupants[slot] is { Removable: true } o ? o
            : throw new InvalidOperationException($"PCI slot {slot} holds no device that can be removed");

    private static string StateId(int slot) => $"pci/{slot:D2}";

    private void OnEjected(int slot)
    {
        lock (_lock) _stale &= ~(1u << slot);
        Remove(slot);
    }

    /// <summary>The first slot from 1 that holds nothing and is not stale, or -1.</summary>
    private int FreeSlot()
    {
        for (int s = PciHotplugRegisters.FirstSlot; s < PciHotplugRegisters.SlotCount; s++)
            if (_pci[s] is null && (_stale & (1u << s)) == 0) return s;
        return -1;
    }

    /// <summary>Takes the device off the bus now; its owner is disposed on the thread pool (a flush must not stall a vCPU).</summary>
    private Task Remove(int slot)
    {
        Occupant? occupant;
        lock (_lock)
        {
            occupant = _occupants[slot];
            if (occupant is not { Removable: true }) return Task.CompletedTask; // a second _EJ0, an empty slot, or a fixed device
            _occupants[slot] = null;
            _pci.Remove(slot);
            _states.Remove(StateId(slot));
            Controller.SetLabel(slot, null); // under the lock: a device plugged into the slot next keeps its own label
            occupant.Removed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        _log($"PCI slot {slot}: {occupant.Device.Name} removed");
        _ = Task.Run(() =>
        {
            try
            {
                occupant.Device.Dispose();   // its queue threads stop,
                occupant.Device.WaitIdle();  // a request in progress finishes,
                occupant.Owner?.Dispose();   // and only then does the owner close what the device used
                occupant.Removed.TrySetResult();
            }
            catch (Exception e) { _log($"PCI slot {slot}: releasing {occupant.Device.Name} failed: {e.Message}"); occupant.Removed.TrySetException(e); }
        });
        return occupant.Removed.Task;
    }

    /// <summary>Stops every device's queue threads (the VM is going away; the owners close their backends after this).</summary>
    public void Dispose()
    {
        Occupant?[] all;
        lock (_lock) all = [.. _occupants];
        foreach (var o in all) { o?.Device.Dispose(); o?.Device.WaitIdle(); }
    }

    /// <summary>What firmware does before the OS: place each BAR in the 32-bit window and enable decoding.</summary>
    private void AssignBars(IPciDevice device)
    {
        foreach (var bar in device.Config.Bars)
        {
            if (bar is null || bar.Kind == PciBarKind.Io) continue;
            _nextBar = (_nextBar + bar.Size - 1) & ~(bar.Size - 1);
            device.Config.AssignBar(bar.Index, _nextBar);
            _nextBar += bar.Size;
        }
        device.Config.Write(0x04, [(byte)(PciConfigSpace.CommandMemory | PciConfigSpace.CommandBusMaster), 0]);
    }
}
