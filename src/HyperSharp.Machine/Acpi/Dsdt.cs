using HyperSharp.Machine.Devices.Pm;

namespace HyperSharp.Machine.Acpi;

/// <summary>
/// The DSDT: \_SB.PCI0 (PCIe host bridge with bus range, config and I/O ports, 32- and 64-bit
/// memory windows, _PRT routing INTA-D of every slot to GSIs 16-23, and the hotplug slots of
/// <see cref="PciHotplugAml"/>), COM1, the RTC, the hotplug GPE method, and \_S5
/// whose sleep type <see cref="AcpiPm"/> recognises as power-off.
/// </summary>
internal static class Dsdt
{
    public static byte[] Build(PlatformLayout l)
    {
        var crs = new ResourceTemplate()
            .BusNumbers(0, l.EcamLastBus)
            .Io(0xCF8, 8)
            .IoWindow(0x0000, 0x0CF7)
            .IoWindow(0x0D00, 0xFFFF)
            .MemoryWindow32(l.PciMmio32Start, l.PciMmio32End);
        if (l.PciMmio64End > l.PciMmio64Start) crs.MemoryWindow64(l.PciMmio64Start, l.PciMmio64End);
        var pci = Aml.Device("PCI0", [
            Aml.Name("_HID", Aml.Integer(Aml.EisaId("PNP0A08"))),
            Aml.Name("_CID", Aml.Integer(Aml.EisaId("PNP0A03"))),
            Aml.Name("_SEG", Aml.Integer(0)),
            Aml.Name("_BBN", Aml.Integer(0)),
            Aml.Name("_UID", Aml.Integer(0)),
            Aml.Name("_CRS", crs.ToBuffer()),
            Aml.Name("_PRT", RoutingTable()), .. PciHotplugAml.PciBridgeObjects(l)]);
        var com1 = Aml.Device("COM1",
            Aml.Name("_HID", Aml.Integer(Aml.EisaId("PNP0501"))),
            Aml.Name("_UID", Aml.Integer(1)),
            Aml.Name("_CRS", new ResourceTemplate().Io(l.ComPort, 8).Irq(l.ComIrq).ToBuffer()));
        var rtc = Aml.Device("RTC",
            Aml.Name("_HID", Aml.Integer(Aml.EisaId("PNP0B00"))),
            Aml.Name("_CRS", new ResourceTemplate().Io(0x70, 2).Irq(8).ToBuffer()));
        var s5 = Aml.Name("\\_S5", Aml.Package(Aml.Integer(AcpiPm.S5SleepType), Aml.Integer(AcpiPm.S5SleepType), Aml.Integer(0), Aml.Integer(0)));
        byte[] body = [.. Aml.Scope("\\_SB", pci, com1, rtc, PciHotplugAml.ReservedResources(l)), .. PciHotplugAml.GpeScope(), .. s5];
        return AcpiTable.Create("DSDT", 2, body);
    }

    /// <summary>Slot s, pin p (INTA=0..INTD=3) -> GSI 16 + (s + p) % 8: the usual swizzle spread over eight lines.</summary>
    public static uint GsiFor(int slot, int pin) => (uint)(16 + (slot + pin) % 8);

    private static byte[] RoutingTable()
    {
        var entries = new List<byte[]>();
        for (int slot = 1; slot < 32; slot++)
            for (int pin = 0; pin < 4; pin++)
                entries.Add(Aml.Package(Aml.Integer(((ulong)slot << 16) | 0xFFFF), Aml.Integer((ulong)pin), Aml.Integer(0), Aml.Integer(GsiFor(slot, pin))));
        return Aml.Package([.. entries]);
    }
}
