using System.Text;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Devices.Pm;
using static HyperSharp.Machine.Pci.Hotplug.PciHotplugRegisters;

namespace HyperSharp.Machine.Pci.Hotplug;

/// <summary>
/// The guest-facing half of ACPI PCI hotplug: the register block of <see cref="PciHotplugRegisters"/>
/// that our DSDT's event method and _EJ0 methods use, the GPE that wakes that method, and the
/// slot-label window each slot's _DSM reads at evaluation time (so a rename shows on the next read).
/// It only signals and records; what happens to a device once ejected is the caller's callback.
/// </summary>
public sealed class PciHotplugController : IPortIoDevice
{
    private readonly GpeBlock _gpe;
    private readonly Func<uint> _occupied;
    private readonly Action<int> _ejected;
    private readonly object _lock = new();
    private readonly byte[]?[] _labels = new byte[]?[SlotCount];
    private uint _deviceCheck, _ejectRequest;

    /// <param name="gpe">the GPE block whose event <see cref="PciHotplugRegisters.Gpe"/> starts the guest's event method</param>
    /// <param name="occupied">the slots holding a device now (bit per slot)</param>
    /// <param name="ejected">called (on the vCPU thread that ran _EJ0) for each slot the guest ejected</param>
    public PciHotplugController(GpeBlock gpe, Func<uint> occupied, Action<int> ejected)
    {
        _gpe = gpe;
        _occupied = occupied;
        _ejected = ejected;
        LabelWindow = new LabelWindowDevice(this);
    }

    public string Name => "pci-hotplug";

    /// <summary>The MMIO window of <see cref="PciHotplugRegisters.LabelWindowLength"/> bytes the slots' _DSM reads labels from.</summary>
    public IMmioDevice LabelWindow { get; }

    /// <summary>A device arrived in the slot: the guest gets Device Check and scans it.</summary>
    public void DeviceAdded(int slot) => Signal(ref _deviceCheck, slot);

    /// <summary>A device left the slot without the guest's consent: Device Check tells the guest to look again.</summary>
    public void DeviceVanished(int slot)
    {
        lock (_lock) _ejectRequest &= ~Bit(slot);
        Signal(ref _deviceCheck, slot);
    }

    /// <summary>Asks the guest to let go of the slot's device (Eject Request); it answers through _EJ0.</summary>
    public void RequestEject(int slot) => Signal(ref _ejectRequest, slot);

    private void Signal(ref uint register, int slot)
    {
        lock (_lock) register |= Bit(slot);
        _gpe.Raise(Gpe);
    }

    private static uint Bit(int slot) => slot is >= FirstSlot and < SlotCount ? 1u << slot : throw new ArgumentOutOfRangeException(nameof(slot), $"PCI slot {slot}: hotplug slots are {FirstSlot} to {SlotCount - 1}");

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
        uint value;
        lock (_lock)
        {
            value = (offset & ~3UL) switch
            {
                DeviceCheck => _deviceCheck,
                EjectRequest => _ejectRequest,
                Occupied => _occupied() & ~1u,
                _ => 0,
            };
        }
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(value >> (8 * (int)((offset + (ulong)i) & 3)));
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        uint value = 0;
        for (int i = 0; i < data.Length && i < 4; i++) value |= (uint)data[i] << (8 * (int)((offset + (ulong)i) & 3));
        uint ejected = 0;
        lock (_lock)
        {
            switch (offset & ~3UL)
            {
                case DeviceCheck: _deviceCheck &= ~value; break;
                case EjectRequest: _ejectRequest &= ~value; break;
                case Ejected:
                    ejected = value & ~1u;
                    _ejectRequest &= ~ejected;
                    break;
            }
        }
        for (int slot = FirstSlot; slot < SlotCount; slot++)
            if ((ejected & (1u << slot)) != 0) _ejected(slot);
    }

    public PciHotplugState SaveState()
    {
        lock (_lock) return new PciHotplugState(_deviceCheck, _ejectRequest, _labels.Select(l => l is null ? null : Encoding.UTF8.GetString(l)).ToArray());
    }

    public void RestoreState(PciHotplugState s)
    {
        lock (_lock)
        {
            (_deviceCheck, _ejectRequest) = (s.DeviceCheck, s.EjectRequest);
            for (int slot = 0; slot < SlotCount; slot++) _labels[slot] = slot < s.Labels.Length && s.Labels[slot] is { } l ? Encoding.UTF8.GetBytes(l) : null;
        }
    }

    /// <summary>Slot n's label at n * <see cref="PciHotplugRegisters.LabelStride"/>, zero-filled after the text.</summary>
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
                    if (at >= LabelWindowLength) break;
                    var label = owner._labels[at / LabelStride];
                    int index = (int)(at % LabelStride);
                    if (label is not null && index < label.Length) data[i] = label[index];
                }
            }
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data) { } // read-only for the guest
    }
}
