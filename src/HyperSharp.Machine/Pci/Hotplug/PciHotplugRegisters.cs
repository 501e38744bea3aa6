namespace HyperSharp.Machine.Pci.Hotplug;

/// <summary>
/// Our ACPI PCI hotplug register block (I/O ports): 16 bytes per bus (bus 0, then each bridge's bus, see
/// <see cref="PciHotplugTopology"/>), in which bit n of every register is device n of that bus; the general-purpose event
/// it raises; and the slot-label window the slots' _DSM reads:
/// <list type="bullet">
/// <item>DeviceCheck (RW1C): slots whose occupant changed (a device arrived, or vanished by surprise); the
/// event method notifies each with Device Check and writes the bits back to acknowledge them.</item>
/// <item>EjectRequest (RW1C): slots the host wants emptied; notified with Eject Request, acknowledged likewise.</item>
/// <item>Ejected (WO): a slot's _EJ0 writes its bit once the OS has let go of the device; the device leaves the bus.</item>
/// <item>Occupied (RO): slots holding a device.</item>
/// </list>
/// </summary>
public static class PciHotplugRegisters
{
    public const int DeviceCheck = 0x0, EjectRequest = 0x4, Ejected = 0x8, Occupied = 0xC, BusStride = 0x10;

    /// <summary>The GPE0 event number that means "look at the hotplug registers" (its method is \_GPE._E01).</summary>
    public const int Gpe = 1;

    /// <summary>Bus 0's hotplug slots start at 1 (slot 0 is the host bridge).</summary>
    public const int FirstSlot = 1;

    /// <summary>Bytes of label per slot id in the label window: UTF-8, NUL-terminated, so at most 255 bytes of text.</summary>
    public const int LabelStride = 256;
}
