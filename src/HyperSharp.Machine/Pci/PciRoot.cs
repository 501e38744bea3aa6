using System.Buffers.Binary;
using HyperSharp.Machine.Devices;

namespace HyperSharp.Machine.Pci;

/// <summary>
/// PCI bus 0 behind the host bridge: configuration access through ports 0xCF8/0xCFC (mechanism #1)
/// and ECAM (memory-mapped, 4 KiB per function), slots 0-31 (function 0 only), and BAR decoding:
/// when the guest (or our firmware step) places a BAR and enables decoding, its device is put on
/// the MMIO or port bus at that address, and moved or removed when that changes.
/// </summary>
public sealed class PciRoot
{
    private readonly IPciDevice?[] _slots = new IPciDevice?[32];
    private readonly Dictionary<(int Slot, int Bar), (ulong Address, IIoDevice Device)> _mapped = new();
    private readonly IoBus<IMmioDevice> _mmio;
    private readonly IoBus<IPortIoDevice> _ports;
    private readonly object _lock = new();
    private uint _configAddress;

    public PciRoot(IoBus<IMmioDevice> mmio, IoBus<IPortIoDevice> ports)
    {
        _mmio = mmio;
        _ports = ports;
        Add(0, new PciHostBridge());
    }

    /// <summary>The port device for 0xCF8-0xCFF.</summary>
    public IPortIoDevice ConfigPorts => new ConfigPortDevice(this);

    /// <summary>The MMIO device for the ECAM window (bus 0 uses its first 1 MiB).</summary>
    public IMmioDevice Ecam => new EcamDevice(this);

    public IPciDevice? this[int slot] => _slots[slot];

    public void Add(int slot, IPciDevice device)
    {
        lock (_lock)
        {
            if (_slots[slot] is not null) throw new InvalidOperationException($"PCI slot {slot} already holds {_slots[slot]!.Name}");
            _slots[slot] = device;
            UpdateMappings(slot);
        }
    }

    /// <summary>Removes a device (hot-unplug); its BARs leave the buses.</summary>
    public IPciDevice? Remove(int slot)
    {
        lock (_lock)
        {
            var device = _slots[slot];
            _slots[slot] = null;
            foreach (var key in _mapped.Keys.Where(k => k.Slot == slot).ToList()) Unmap(key);
            return device;
        }
    }

    /// <summary>Re-derives every BAR mapping from configuration space (after a saved state was applied to it).</summary>
    public void RefreshMappings()
    {
        lock (_lock)
            for (int slot = 0; slot < _slots.Length; slot++)
                if (_slots[slot] is not null) UpdateMappings(slot);
    }

    /// <summary>The first free slot from 1, or -1.</summary>
    public int FreeSlot() { lock (_lock) return Array.FindIndex(_slots, 1, s => s is null); }

    public void ReadConfig(int bus, int slot, int function, int offset, Span<byte> data)
    {
        var device = bus == 0 && function == 0 && slot < 32 ? _slots[slot] : null;
        if (device is null) { data.Fill(0xFF); return; } // no device: vendor ID reads as 0xFFFF
        lock (_lock) device.Config.Read(offset, data);
    }

    public void WriteConfig(int bus, int slot, int function, int offset, ReadOnlySpan<byte> data)
    {
        var device = bus == 0 && function == 0 && slot < 32 ? _slots[slot] : null;
        if (device is null) return;
        lock (_lock)
        {
            if (device.Config.Write(offset, data)) UpdateMappings(slot);
            device.ConfigWritten(offset, data.Length);
        }
    }

    /// <summary>Maps every BAR of a slot where its registers and the command register say. Caller holds the lock.</summary>
    private void UpdateMappings(int slot)
    {
        var device = _slots[slot]!;
        ushort command = device.Config.Command;
        for (int i = 0; i < 6; i++)
        {
            var bar = device.Config.Bars[i];
            if (bar is null) continue;
            ulong address = device.Config.BarAddress(i);
            bool io = bar.Kind == PciBarKind.Io;
            bool enabled = address != 0 && (command & (io ? PciConfigSpace.CommandIo : PciConfigSpace.CommandMemory)) != 0
                && address + bar.Size > address && !(address + bar.Size > 0xFFFF_FFFF_FFFF);
            var key = (slot, i);
            if (_mapped.TryGetValue(key, out var current) && (!enabled || current.Address != address)) Unmap(key);
            if (!enabled || _mapped.ContainsKey(key)) continue;
            var barDevice = device.BarDevice(i);
            try
            {
                if (io) _ports.Add(address, bar.Size, (IPortIoDevice)barDevice);
                else _mmio.Add(address, bar.Size, (IMmioDevice)barDevice);
                _mapped[key] = (address, barDevice);
            }
            catch (InvalidOperationException) { } // the guest placed it over something else: it stays unmapped, as decoding conflicts are undefined
        }
    }

    private void Unmap((int Slot, int Bar) key)
    {
        var (_, device) = _mapped[key];
        if (device is IMmioDevice m) _mmio.Remove(m); else _ports.Remove((IPortIoDevice)device);
        _mapped.Remove(key);
    }

    private sealed class ConfigPortDevice(PciRoot root) : IPortIoDevice
    {
        public string Name => "pci-config";

        public void Read(ulong offset, Span<byte> data)
        {
            if (offset < 4) { Span<byte> a = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(a, root._configAddress); a.Slice((int)offset, Math.Min(data.Length, 4 - (int)offset)).CopyTo(data); return; }
            uint address = root._configAddress;
            if ((address & 0x8000_0000) == 0) { data.Fill(0xFF); return; }
            root.ReadConfig((int)(address >> 16) & 0xFF, (int)(address >> 11) & 0x1F, (int)(address >> 8) & 7, (int)(address & 0xFC) + (int)(offset - 4), data);
        }

        public void Write(ulong offset, ReadOnlySpan<byte> data)
        {
            if (offset == 0 && data.Length == 4) { root._configAddress = BinaryPrimitives.ReadUInt32LittleEndian(data); return; }
            if (offset < 4) return;
            uint address = root._configAddress;
            if ((address & 0x8000_0000) == 0) return;
            root.WriteConfig((int)(address >> 16) & 0xFF, (int)(address >> 11) & 0x1F, (int)(address >> 8) & 7, (int)(address & 0xFC) + (int)(offset - 4), data);
        }
    }

    private sealed class EcamDevice(PciRoot root) : IMmioDevice
    {
        public string Name => "pci-ecam";
        public void Read(ulong offset, Span<byte> data) => root.ReadConfig((int)(offset >> 20), (int)(offset >> 15) & 0x1F, (int)(offset >> 12) & 7, (int)(offset & 0xFFF), data);
        public void Write(ulong offset, ReadOnlySpan<byte> data) => root.WriteConfig((int)(offset >> 20), (int)(offset >> 15) & 0x1F, (int)(offset >> 12) & 7, (int)(offset & 0xFFF), data);
    }

    /// <summary>Device 00:00.0, the host bridge itself (class 06 00 00).</summary>
    private sealed class PciHostBridge : IPciDevice
    {
        public string Name => "host-bridge";
        public PciConfigSpace Config { get; } = new(0x1B36, 0x0008, 0x060000, 0, 0x1B36, 0x0008, 0);
        public IIoDevice BarDevice(int index) => throw new InvalidOperationException("the host bridge has no BARs");
    }
}
