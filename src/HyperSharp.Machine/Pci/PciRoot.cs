using System.Buffers.Binary;
using HyperSharp.Machine.Devices;

namespace HyperSharp.Machine.Pci;

/// <summary>
/// PCI bus 0 behind the host bridge, and the buses behind its PCI-to-PCI bridges: configuration access through ports
/// 0xCF8/0xCFC (mechanism #1) and ECAM (memory-mapped, 4 KiB per function), 32 device slots per bus (function 0 only),
/// and BAR decoding: when the guest (or our firmware step) places a BAR and enables decoding, its device is put on the
/// MMIO or port bus at that address, and moved or removed when that changes. Buses are indexed 0 (the root) and k for
/// the k-th bridge added; the guest reaches bridge k's bus at the bus number it programmed into that bridge.
/// </summary>
public sealed class PciRoot
{
    private readonly IPciDevice?[] _slots = new IPciDevice?[32];
    private readonly List<PciBridge> _bridges = [];
    private readonly Dictionary<(IPciDevice Device, int Bar), (ulong Address, IIoDevice Device)> _mapped = new();
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

    /// <summary>The MMIO device for the ECAM window (bus n at n MiB).</summary>
    public IMmioDevice Ecam => new EcamDevice(this);

    public IPciDevice? this[int slot] => _slots[slot];

    /// <summary>The device in <paramref name="slot"/> of bus index <paramref name="bus"/> (0 the root, k the k-th bridge's).</summary>
    public IPciDevice? this[int bus, int slot] { get { lock (_lock) return DevicesOf(bus)[slot]; } }

    public void Add(int slot, IPciDevice device) => Add(0, slot, device);

    public void Add(int bus, int slot, IPciDevice device)
    {
        lock (_lock)
        {
            var devices = DevicesOf(bus);
            if (devices[slot] is { } present) throw new InvalidOperationException($"PCI bus {bus} slot {slot} already holds {present.Name}");
            devices[slot] = device;
            UpdateMappings(device);
        }
    }

    /// <summary>Puts a PCI-to-PCI bridge in a slot of bus 0; its bus becomes bus index <see cref="Bridges"/> (after the call).</summary>
    public void AddBridge(int slot, PciBridge bridge)
    {
        lock (_lock)
        {
            Add(0, slot, bridge);
            _bridges.Add(bridge);
        }
    }

    public int Bridges { get { lock (_lock) return _bridges.Count; } }

    /// <summary>Removes a device (hot-unplug); its BARs leave the buses.</summary>
    public IPciDevice? Remove(int slot) => Remove(0, slot);

    public IPciDevice? Remove(int bus, int slot)
    {
        lock (_lock)
        {
            var devices = DevicesOf(bus);
            var device = devices[slot];
            devices[slot] = null;
            if (device is not null) foreach (var key in _mapped.Keys.Where(k => k.Device == device).ToList()) Unmap(key);
            return device;
        }
    }

    /// <summary>Re-derives every BAR mapping from configuration space (after a saved state was applied to it).</summary>
    public void RefreshMappings()
    {
        lock (_lock)
            for (int bus = 0; bus <= _bridges.Count; bus++)
                foreach (var device in DevicesOf(bus))
                    if (device is not null) UpdateMappings(device);
    }

    /// <summary>The first free slot of bus 0 from 1, or -1.</summary>
    public int FreeSlot() { lock (_lock) return Array.FindIndex(_slots, 1, s => s is null); }

    private IPciDevice?[] DevicesOf(int bus) => bus == 0 ? _slots : bus <= _bridges.Count ? _bridges[bus - 1].Devices
        : throw new ArgumentOutOfRangeException(nameof(bus), $"PCI bus index {bus}: this machine has buses 0 to {_bridges.Count}");

    /// <summary>The devices the guest reaches at bus number <paramref name="number"/>: bus 0, or a bridge's secondary bus.</summary>
    private IPciDevice?[]? DevicesAtNumber(int number)
    {
        if (number == 0) return _slots;
        foreach (var b in _bridges) if (b.SecondaryBus == number) return b.Devices;
        return null;
    }

    public void ReadConfig(int bus, int slot, int function, int offset, Span<byte> data)
    {
        lock (_lock)
        {
            var device = function == 0 && slot < 32 ? DevicesAtNumber(bus)?[slot] : null;
            if (device is null) { data.Fill(0xFF); return; } // no device: vendor ID reads as 0xFFFF
            device.Config.Read(offset, data);
        }
    }

    public void WriteConfig(int bus, int slot, int function, int offset, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            var device = function == 0 && slot < 32 ? DevicesAtNumber(bus)?[slot] : null;
            if (device is null) return;
            if (device.Config.Write(offset, data)) UpdateMappings(device);
            device.ConfigWritten(offset, data.Length);
        }
    }

    /// <summary>Maps every BAR of a device where its registers and the command register say. Caller holds the lock.</summary>
    private void UpdateMappings(IPciDevice device)
    {
        ushort command = device.Config.Command;
        for (int i = 0; i < 6; i++)
        {
            var bar = device.Config.Bars[i];
            if (bar is null) continue;
            ulong address = device.Config.BarAddress(i);
            bool io = bar.Kind == PciBarKind.Io;
            bool enabled = address != 0 && (command & (io ? PciConfigSpace.CommandIo : PciConfigSpace.CommandMemory)) != 0
                && address + bar.Size > address && !(address + bar.Size > 0xFFFF_FFFF_FFFF);
            var key = (device, i);
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

    private void Unmap((IPciDevice Device, int Bar) key)
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

    /// <summary>
    /// Device 00:00.0, the host bridge itself (class 06 00 00). Its subsystem is QEMU's (1AF4:1100), as on every QEMU
    /// machine: SeaBIOS reads its fw_cfg interface only on a platform whose host bridge says so.
    /// </summary>
    private sealed class PciHostBridge : IPciDevice
    {
        public string Name => "host-bridge";
        public PciConfigSpace Config { get; } = new(0x1B36, 0x0008, 0x060000, 0, 0x1AF4, 0x1100, 0);
        public IIoDevice BarDevice(int index) => throw new InvalidOperationException("the host bridge has no BARs");
    }
}
