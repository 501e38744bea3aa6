using HyperSharp.Machine.Devices.Pm;
using HyperSharp.Machine.State;
using HyperSharp.Machine.Virtio;
using HyperSharp.Machine.Virtio.Pci;

namespace HyperSharp.Machine.Pci.Hotplug;

/// <summary>
/// The host's view of the hotplug slots (bus 0's and those behind the PCI-to-PCI bridges it puts in, see
/// <see cref="PciHotplugTopology"/>): puts virtio devices in (at build time, with BARs placed as firmware would, or while
/// the VM runs, announced to the guest), takes them out (the guest's consent through ACPI eject, or by surprise), and
/// labels them. Slots are slot ids. Safe to call from any thread
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
    private readonly Func<uint, IVirtioDevice, int?, VirtioPciDevice> _transport;
    private readonly Action<string> _log;
    private readonly Occupant?[] _occupants;
    private readonly object _lock = new();
    private readonly ulong[] _nextBar; // per bus: where firmware-style placement of the next cold device's BARs goes
    private readonly HashSet<int> _stale = []; // slots emptied by surprise that the guest may still think are occupied

    /// <summary>
    /// MSI-X vectors a device behind a bridge gets: one for configuration changes and one its queues share. An x86 guest
    /// has about 200 interrupt vectors per CPU, and 68 network adapters with a vector per queue exhaust a small VM's (Linux
    /// then fails their probes with ENOSPC); bus 0's devices keep a vector per queue. Fixed by the slot, so a restored VM
    /// builds the same tables.
    /// </summary>
    public const int BridgedDeviceVectors = 2;

    /// <summary>Memory window each bridge gets: room for 32 devices' BARs (a virtio transport takes 32 KiB) with margin.</summary>
    public const ulong BridgeWindow = 4 << 20;

    /// <param name="transport">wraps a virtio device in its PCI transport, given the GSI its INTA reaches and its MSI-X table size (null: the device's own)</param>
    /// <param name="firstBar">where firmware-style placement starts: the bridges' windows first, then bus 0's devices</param>
    public PciSlots(PciRoot pci, DeviceStateRegistry states, GpeBlock gpe, PciHotplugTopology topology, Func<uint, IVirtioDevice, int?, VirtioPciDevice> transport, ulong firstBar, Action<string> log)
    {
        _pci = pci;
        _states = states;
        _transport = transport;
        _log = log;
        _occupants = new Occupant?[topology.SlotIds];
        _nextBar = new ulong[topology.Buses];
        for (int k = 1; k <= topology.Bridges; k++)
        {
            var bridge = new PciBridge($"pci-bridge{k}", (byte)k);
            firstBar = (firstBar + (1 << 20) - 1) & ~((1UL << 20) - 1);
            bridge.SetMemoryWindow(firstBar, BridgeWindow);
            _nextBar[k] = firstBar;
            firstBar += BridgeWindow;
            pci.AddBridge(PciHotplugTopology.BridgeSlot(k), bridge);
        }
        _nextBar[0] = firstBar;
        Controller = new PciHotplugController(gpe, topology, Occupied, OnEjected);
    }

    public PciHotplugTopology Topology => Controller.Topology;

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
            if (slot is null && s < 0)
                throw new InvalidOperationException($"no free PCI slot for {device.Name}: all {Topology.HotplugSlots().Count()} hotplug slots are in use; remove a device first");
            Controller.SetLabel(s, label); // validates the slot and the label before anything is attached
            if (At(s) is { } present) throw new InvalidOperationException($"PCI {PciHotplugTopology.Describe(s)} already holds {present.Name}");
            var transport = _transport(PciHotplugTopology.Gsi(s), device, PciHotplugTopology.BusOf(s) > 0 ? BridgedDeviceVectors : null);
            if (!hot) AssignBars(transport, PciHotplugTopology.BusOf(s));
            _pci.Add(PciHotplugTopology.BusOf(s), PciHotplugTopology.DeviceOf(s), transport);
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
        lock (_lock) { OccupantOf(slot); _stale.Add(slot); }
        var done = Remove(slot);
        Controller.DeviceVanished(slot);
        return done;
    }

    /// <summary>How many devices of type <typeparamref name="T"/> are on the buses now.</summary>
    public int CountOf<T>() where T : IVirtioDevice
    {
        lock (_lock) return _occupants.Count(o => o?.Device.Inner is T);
    }

    /// <summary>The slot <paramref name="device"/> sits in, or null when it is not (or no longer) on the bus.</summary>
    public int? SlotOf(IVirtioDevice device)
    {
        lock (_lock)
            for (int s = 0; s < _occupants.Length; s++)
                if (_occupants[s]?.Device.Inner == device) return s;
        return null;
    }

    /// <summary>Devices of bus index <paramref name="bus"/> holding something (bit per device; on bus 0 bit 0 is the host bridge).</summary>
    public uint Occupied(int bus)
    {
        uint bits = 0;
        for (int d = 0; d < PciHotplugTopology.SlotsPerBus; d++) if (_pci[bus, d] is not null) bits |= 1u << d;
        return bits;
    }

    private IPciDevice? At(int slot) => _pci[PciHotplugTopology.BusOf(slot), PciHotplugTopology.DeviceOf(slot)];

    private Occupant OccupantOf(int slot) =>
        Topology.IsHotplugSlot(slot) && _occupants[slot] is { Removable: true } o ? o
            : throw new InvalidOperationException($"PCI {PciHotplugTopology.Describe(slot)} holds no device that can be removed");

    private static string StateId(int slot) => $"pci/{slot:D2}";

    private void OnEjected(int slot)
    {
        lock (_lock) _stale.Remove(slot);
        Remove(slot);
    }

    /// <summary>The first hotplug slot (bus 0's, then the bridges') that holds nothing and is not stale, or -1.</summary>
    private int FreeSlot()
    {
        foreach (int s in Topology.HotplugSlots())
            if (At(s) is null && !_stale.Contains(s)) return s;
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
            _pci.Remove(PciHotplugTopology.BusOf(slot), PciHotplugTopology.DeviceOf(slot));
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

    /// <summary>What firmware does before the OS: place each BAR in the 32-bit window (a bridge's device: in that bridge's window) and enable decoding.</summary>
    private void AssignBars(IPciDevice device, int bus)
    {
        foreach (var bar in device.Config.Bars)
        {
            if (bar is null || bar.Kind == PciBarKind.Io) continue;
            ulong at = (_nextBar[bus] + bar.Size - 1) & ~(bar.Size - 1);
            device.Config.AssignBar(bar.Index, at);
            _nextBar[bus] = at + bar.Size;
        }
        device.Config.Write(0x04, [(byte)(PciConfigSpace.CommandMemory | PciConfigSpace.CommandBusMaster), 0]);
    }
}
