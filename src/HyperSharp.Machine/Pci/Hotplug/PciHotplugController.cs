using System.Text;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Devices.Pm;
using static HyperSharp.Machine.Pci.Hotplug.PciHotplugRegisters;

namespace HyperSharp.Machine.Pci.Hotplug;

/// <summary>
/// The guest-facing half of ACPI PCI hotplug: the register block of <see cref="PciHotplugRegisters"/> (one set per bus of
/// the <see cref="PciHotplugTopology"/>) that our DSDT's event method and _EJ0 methods use, the GPE that wakes that
/// method, and the slot-label window each slot's _DSM reads at evaluation time (so a rename shows on the next read).
/// It only signals and records; what happens to a device once ejected is the caller's callback. Slots are slot ids.
/// </summary>
public sealed class PciHotplugController : IPortIoDevice
{
    private readonly GpeBlock _gpe;
    private readonly Func<int, uint> _occupied;
    private readonly Action<int> _ejected;
    private readonly object _lock = new();
    private readonly byte[]?[] _labels;
    private readonly uint[] _deviceCheck, _ejectRequest;

    /// <param name="gpe">the GPE block whose event <see cref="PciHotplugRegisters.Gpe"/> starts the guest's event method</param>
    /// <param name="topology">which buses and slots there are</param>
    /// <param name="occupied">the devices of a bus holding something now (bit per device)</param>
    /// <param name="ejected">called (on the vCPU thread that ran _EJ0) for each slot id the guest ejected</param>
    public PciHotplugController(GpeBlock gpe, PciHotplugTopology topology, Func<int, uint> occupied, Action<int> ejected)
    {
        _gpe = gpe;
        Topology = topology;
        _occupied = occupied;
        _ejected = ejected;
        _labels = new byte[]?[topology.SlotIds];
        _deviceCheck = new uint[topology.Buses];
        _ejectRequest = new uint[topology.Buses];
        LabelWindow = new LabelWindowDevice(this);
    }

    public string Name => "pci-hotplug";

    public PciHotplugTopology Topology { get; }

    /// <summary>The MMIO window of <see cref="PciHotplugTopology.LabelWindowLength"/> bytes the slots' _DSM reads labels from.</summary>
    public IMmioDevice LabelWindow { get; }

    /// <summary>A device arrived in the slot: the guest gets Device Check and scans it.</summary>
    public void DeviceAdded(int slot) => Signal(_deviceCheck, slot);

    /// <summary>A device left the slot without the guest's consent: Device Check tells the guest to look again.</summary>
    public void DeviceVanished(int slot)
    {
        uint bit = Bit(slot);
        lock (_lock) _ejectRequest[PciHotplugTopology.BusOf(slot)] &= ~bit;
        Signal(_deviceCheck, slot);
    }

    /// <summary>Asks the guest to let go of the slot's device (Eject Request); it answers through _EJ0.</summary>
    public void RequestEject(int slot) => Signal(_ejectRequest, slot);

    private void Signal(uint[] register, int slot)
    {
        uint bit = Bit(slot);
        lock (_lock) register[PciHotplugTopology.BusOf(slot)] |= bit;
        _gpe.Raise(Gpe);
    }

    private uint Bit(int slot) => Topology.IsHotplugSlot(slot) ? 1u << PciHotplugTopology.DeviceOf(slot)
        : throw new ArgumentOutOfRangeException(nameof(slot), $"PCI slot {slot} is not a hotplug slot (bus 0: {FirstSlot} to {Topology.LastRootSlot}" +
            (Topology.Bridges > 0 ? $"; behind the bridges: {PciHotplugTopology.SlotsPerBus} to {Topology.SlotIds - 1})" : ")"));

    /// <summary>Sets (or clears, with null) the slot's label; the guest's next read of it sees the new one.</summary>
    public void SetLabel(int slot, string? label)
    {
        Bit(slot);
        byte[]? bytes = label is null ? null : Encoding.UTF8.GetBytes(label);
        if (bytes is not null && (bytes.Length >= LabelStride || bytes.Contains((byte)0)))
            throw new ArgumentException($"a slot label is at most {LabelStride - 1} bytes of UTF-8 without NUL characters; '{label}' is {bytes.Length} bytes", nameof(label));
        lock (_lock) _labels[slot] = bytes;
    }

    public string? GetLabel(int slot)
    {
        Bit(slot);
        lock (_lock) return _labels[slot] is { } b ? Encoding.UTF8.GetString(b) : null;
    }

    public void Read(ulong offset, Span<byte> data)
    {
        int bus = (int)(offset / BusStride);
        uint value = 0;
        if (bus < Topology.Buses)
        {
            lock (_lock)
            {
                value = (int)(offset % BusStride & ~3UL) switch
                {
                    DeviceCheck => _deviceCheck[bus],
                    EjectRequest => _ejectRequest[bus],
                    Occupied => _occupied(bus) & Topology.HotplugMask(bus),
                    _ => 0,
                };
            }
        }
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(value >> (8 * (int)((offset + (ulong)i) & 3)));
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        int bus = (int)(offset / BusStride);
        if (bus >= Topology.Buses) return;
        uint value = 0;
        for (int i = 0; i < data.Length && i < 4; i++) value |= (uint)data[i] << (8 * (int)((offset + (ulong)i) & 3));
        uint ejected = 0;
        lock (_lock)
        {
            switch ((int)(offset % BusStride & ~3UL))
            {
                case DeviceCheck: _deviceCheck[bus] &= ~value; break;
                case EjectRequest: _ejectRequest[bus] &= ~value; break;
                case Ejected:
                    ejected = value & Topology.HotplugMask(bus);
                    _ejectRequest[bus] &= ~ejected;
                    break;
            }
        }
        for (int device = 0; device < PciHotplugTopology.SlotsPerBus; device++)
            if ((ejected & (1u << device)) != 0) _ejected(bus * PciHotplugTopology.SlotsPerBus + device);
    }

    public PciHotplugState SaveState()
    {
        lock (_lock)
            return new PciHotplugState(_deviceCheck[0], _ejectRequest[0], _labels.Select(l => l is null ? null : Encoding.UTF8.GetString(l)).ToArray(),
                _deviceCheck[1..], _ejectRequest[1..]);
    }

    public void RestoreState(PciHotplugState s)
    {
        lock (_lock)
        {
            (_deviceCheck[0], _ejectRequest[0]) = (s.DeviceCheck, s.EjectRequest);
            for (int bus = 1; bus < Topology.Buses; bus++)
            {
                _deviceCheck[bus] = s.BridgeDeviceCheck is { } d && bus - 1 < d.Length ? d[bus - 1] : 0;
                _ejectRequest[bus] = s.BridgeEjectRequest is { } e && bus - 1 < e.Length ? e[bus - 1] : 0;
            }
            for (int slot = 0; slot < _labels.Length; slot++) _labels[slot] = slot < s.Labels.Length && s.Labels[slot] is { } l ? Encoding.UTF8.GetBytes(l) : null;
        }
    }

    /// <summary>Slot id n's label at n * <see cref="PciHotplugRegisters.LabelStride"/>, zero-filled after the text.</summary>
    private sealed class LabelWindowDevice(PciHotplugController owner) : IMmioDevice
    {
        public string Name => "pci-slot-labels";

        public void Read(ulong offset, Span<byte> data)
        {
            data.Clear();
            lock (owner._lock)
            {
                for (int i = 0; i < data.Length; i++)
                {
                    ulong at = offset + (ulong)i;
                    if (at >= (ulong)owner._labels.Length * LabelStride) break;
                    var label = owner._labels[at / LabelStride];
                    int index = (int)(at % LabelStride);
                    if (label is not null && index < label.Length) data[i] = label[index];
                }
            }
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data) { } // read-only for the guest
    }
}
