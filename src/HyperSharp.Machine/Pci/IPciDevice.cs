using HyperSharp.Machine.Devices;

namespace HyperSharp.Machine.Pci;

/// <summary>A PCI function: its configuration space, and the device that answers each memory or I/O BAR it declares.</summary>
public interface IPciDevice
{
    string Name { get; }

    PciConfigSpace Config { get; }

    /// <summary>The device behind a BAR (offsets relative to the BAR's start).</summary>
    IIoDevice BarDevice(int index);

    /// <summary>Called after the guest wrote configuration space (capabilities such as MSI-X react here).</summary>
    void ConfigWritten(int offset, int length) { }
}
