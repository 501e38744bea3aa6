using HyperSharp.Machine.Devices;

namespace HyperSharp.Machine.Pci;

/// <summary>
/// A PCI-to-PCI bridge on bus 0 with 32 device slots on its secondary bus. Configuration cycles reach those devices
/// when their bus number is the bridge's secondary bus as the OS last programmed it (the platform programs it first, as
/// firmware does). Memory is not filtered by the bridge's window: a device decodes its BARs wherever the OS put them.
/// </summary>
public sealed class PciBridge : IPciDevice
{
    public PciBridge(string name, byte secondaryBus)
    {
        Name = name;
        Config = PciConfigSpace.ForBridge(0x1B36, 0x0001);
        Config.Raw[0x19] = secondaryBus;
        Config.Raw[0x1A] = secondaryBus;
    }

    public string Name { get; }

    public PciConfigSpace Config { get; }

    /// <summary>The devices on the secondary bus, by device number.</summary>
    internal IPciDevice?[] Devices { get; } = new IPciDevice?[32];

    public int SecondaryBus => Config.Raw[0x19];

    public IIoDevice BarDevice(int index) => throw new InvalidOperationException("a PCI bridge has no BARs");

    /// <summary>Programs the memory window as firmware does: [start, start + size), both 1 MiB aligned; turns on forwarding.</summary>
    public void SetMemoryWindow(ulong start, ulong size)
    {
        if (start % (1 << 20) != 0 || size % (1 << 20) != 0 || size == 0 || start + size > 1UL << 32)
            throw new ArgumentException($"a bridge memory window must be whole MiB below 4 GiB (0x{start:X} + 0x{size:X})");
        ushort Bits(ulong address) => (ushort)((address >> 16) & 0xFFF0);
        Config.Write(0x20, [(byte)Bits(start), (byte)(Bits(start) >> 8), (byte)Bits(start + size - 1), (byte)(Bits(start + size - 1) >> 8)]);
        Config.Write(0x04, [(byte)(PciConfigSpace.CommandMemory | PciConfigSpace.CommandBusMaster), 0]);
    }
}
