using static HyperSharp.Machine.Acpi.Aml;
using static HyperSharp.Machine.Pci.Hotplug.PciHotplugRegisters;

namespace HyperSharp.Machine.Acpi;

/// <summary>
/// The AML of ACPI PCI hotplug on bus 0 (what Linux's built-in acpiphp drives): a device per slot
/// 1-31 with _ADR, _SUN, _EJ0 (writes the slot's bit to the Ejected register) and _DSM (PCI Firmware
/// Specification function 7, the device label, read from the label window at each evaluation); the
/// register block as an operation region; PSCN, run by \_GPE._E01, which acknowledges the pending
/// Device Check and Eject Request bits and notifies those slots; and a PNP0C02 device reserving
/// the ports and the label window.
/// </summary>
internal static class PciHotplugAml
{
    /// <summary>The _DSM UUID of PCI Firmware Specification section 4.6 (PCI device functions).</summary>
    public const string PciDsmUuid = "E5C937D0-3553-4D7A-9117-EA4D19C3434D";
    public const int DsmQuery = 0, DsmDeviceLabel = 7;
    private const int NotifyDeviceCheck = 1, NotifyEjectRequest = 3;

    /// <summary>Objects that go inside \_SB.PCI0 (methods first, so disassemblers know their argument counts before the calls).</summary>
    public static byte[][] PciBridgeObjects(PlatformLayout l)
    {
        var objects = new List<byte[]>
        {
            OperationRegion("PHPR", RegionSpace.SystemIo, Integer(l.HotplugBase), Integer(Length)),
            Field("PHPR", FieldAccess.DWord, ("PDCK", 32), ("PEJR", 32), ("PEJD", 32), ("POCC", 32)),
            NotifySlots(),
            Method("PSCN", 0, serialized: true,
                Store(Call("PDCK"), Local(0)), Store(Local(0), Call("PDCK")),   // read the pending bits, then acknowledge exactly those
                Store(Call("PEJR"), Local(1)), Store(Local(1), Call("PEJR")),
                Call("PNFY", Local(0), Integer(NotifyDeviceCheck)),
                Call("PNFY", Local(1), Integer(NotifyEjectRequest))),
            DeviceSpecificMethod(l),
        };
        for (int slot = FirstSlot; slot < SlotCount; slot++) objects.Add(Slot(slot));
        return [.. objects];
    }

    /// <summary>\_GPE._E01: the hotplug event (edge: ACPICA clears its status before running it, so a later event re-triggers it).</summary>
    public static byte[] GpeScope() => Scope("\\_GPE", Method($"_E{Gpe:X2}", 0, serialized: false, Call("\\_SB.PCI0.PSCN")));

    /// <summary>Motherboard resources: the OS keeps the hotplug ports and the label window away from anything it allocates.</summary>
    public static byte[] ReservedResources(PlatformLayout l) => Device("PHPD",
        Name("_HID", Integer(EisaId("PNP0C02"))),
        Name("_UID", Integer(0x48500)),
        Name("_CRS", new ResourceTemplate().Io(l.HotplugBase, Length).Memory32Fixed(l.SlotLabelBase, LabelWindowLength, writable: false).ToBuffer()));

    private static string SlotName(int slot) => $"S{slot:D2}";

    /// <summary>PNFY(bits, code): Notify(Sxx, code) for every slot whose bit is set (Notify needs a name, hence one If per slot).</summary>
    private static byte[] NotifySlots()
    {
        var body = new List<byte[]>();
        for (int slot = FirstSlot; slot < SlotCount; slot++)
            body.Add(If(And(Arg(0), Integer(1UL << slot)), Notify(SlotName(slot), Arg(1))));
        return Method("PNFY", 2, serialized: false, [.. body]);
    }

    /// <summary>
    /// PDSM(uuid, function, slot): function 0 lists functions 0 and 7; function 7 returns Package { instance, label },
    /// the instance being the slot number and the label the slot's current text in the label window.
    /// </summary>
    private static byte[] DeviceSpecificMethod(PlatformLayout l) => Method("PDSM", 3, serialized: true,
        If(LEqual(Arg(0), Uuid(PciDsmUuid)),
            If(LEqual(Arg(1), Integer(DsmQuery)), Return(Buffer([(byte)(1 << DsmQuery | 1 << DsmDeviceLabel)]))),
            If(LEqual(Arg(1), Integer(DsmDeviceLabel)),
                OperationRegion("PLBR", RegionSpace.SystemMemory, Add(Integer(l.SlotLabelBase), ShiftLeft(Arg(2), Integer((ulong)System.Numerics.BitOperations.Log2(LabelStride)))), Integer(LabelStride)),
                Field("PLBR", FieldAccess.DWord, ("PLBT", LabelStride * 8)),
                Store(Package(Integer(0), Aml.String("")), Local(0)),
                Store(Arg(2), Index(Local(0), Integer(0))),
                Store(ToAmlString(Call("PLBT"), Ones), Index(Local(0), Integer(1))),
                Return(Local(0)))),
        Return(Buffer([0])));

    private static byte[] Slot(int slot) => Device(SlotName(slot),
        Name("_ADR", Integer((ulong)slot << 16)),
        Name("_SUN", Integer((ulong)slot)),
        Method("_EJ0", 1, serialized: false, Store(Integer(1UL << slot), Call("\\_SB.PCI0.PEJD"))),
        Method("_DSM", 4, serialized: false, Return(Call("\\_SB.PCI0.PDSM", Arg(0), Arg(2), Integer((ulong)slot)))));
}
