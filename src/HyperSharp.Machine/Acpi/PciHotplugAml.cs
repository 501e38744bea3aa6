using HyperSharp.Machine.Pci.Hotplug;
using static HyperSharp.Machine.Acpi.Aml;
using static HyperSharp.Machine.Acpi.AmlCode;
using static HyperSharp.Machine.Pci.Hotplug.PciHotplugRegisters;

namespace HyperSharp.Machine.Acpi;

/// <summary>
/// The AML of ACPI PCI hotplug (what Linux's built-in acpiphp drives) on bus 0 and behind the PCI-to-PCI bridges of the
/// <see cref="PciHotplugTopology"/>: a device per hotplug slot with _ADR, _SUN (the slot id), _EJ0 (writes the slot's bit
/// to its bus's Ejected register) and _DSM (PCI Firmware Specification function 7, the device label, read from the
/// label window at each evaluation); a device per bridge (BRk, _ADR of its bus-0 slot) holding its 32 slots, which
/// acpiphp then treats as hotplug slots of the bridge's bus; the register block as an operation region; PSCN, run by
/// \_GPE._E01, which acknowledges each bus's pending Device Check and Eject Request bits and notifies those slots; and a
/// PNP0C02 device reserving the ports and the label window.
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
        var topology = new PciHotplugTopology(l.PciBridges);
        var fields = new List<(string, int)>();
        for (int bus = 0; bus < topology.Buses; bus++)
            fields.AddRange([(Register("DCK", bus), 32), (Register("EJR", bus), 32), (Register("EJD", bus), 32), (Register("OCC", bus), 32)]);
        var scan = new List<byte[]>();
        for (int bus = 0; bus < topology.Buses; bus++)
        {
            string notify = bus == 0 ? "PNFY" : $"PNF{bus}";
            scan.AddRange([
                Store(Call(Register("DCK", bus)), Local(0)), Store(Local(0), Call(Register("DCK", bus))),   // read the pending bits, then acknowledge exactly those
                Store(Call(Register("EJR", bus)), Local(1)), Store(Local(1), Call(Register("EJR", bus))),
                Call(notify, Local(0), Integer(NotifyDeviceCheck)),
                Call(notify, Local(1), Integer(NotifyEjectRequest))]);
        }
        var objects = new List<byte[]>
        {
            OperationRegion("PHPR", RegionSpace.SystemIo, Integer(l.HotplugBase), Integer((ulong)topology.RegisterLength)),
            Field("PHPR", FieldAccess.DWord, [.. fields]),
            DeviceSpecificMethod(l),
        };
        for (int bus = 1; bus < topology.Buses; bus++) objects.Add(Bridge(topology, bus)); // before the methods that name their slots
        for (int bus = 0; bus < topology.Buses; bus++) objects.Add(NotifySlots(topology, bus));
        objects.Add(Method("PSCN", 0, serialized: true, [.. scan]));
        for (int slot = FirstSlot; slot <= topology.LastRootSlot; slot++) objects.Add(Slot(slot, 0));
        return [.. objects];
    }

    /// <summary>The register names of a bus: bus 0 keeps PDCK/PEJR/PEJD/POCC, bus k is DCKk...</summary>
    private static string Register(string name, int bus) => bus == 0 ? "P" + name : name + bus;

    /// <summary>\_GPE._E01: the hotplug event (edge: ACPICA clears its status before running it, so a later event re-triggers it).</summary>
    public static byte[] GpeScope() => Scope("\\_GPE", Method($"_E{Gpe:X2}", 0, serialized: false, Call("\\_SB.PCI0.PSCN")));

    /// <summary>Motherboard resources: the OS keeps the hotplug ports and the label window away from anything it allocates.</summary>
    public static byte[] ReservedResources(PlatformLayout l)
    {
        var topology = new PciHotplugTopology(l.PciBridges);
        return Device("PHPD",
            Name("_HID", Integer(EisaId("PNP0C02"))),
            Name("_UID", Integer(0x48500)),
            Name("_CRS", new ResourceTemplate().Io(l.HotplugBase, (byte)topology.RegisterLength).Memory32Fixed(l.SlotLabelBase, (uint)topology.LabelWindowLength, writable: false).ToBuffer()));
    }

    private static string SlotName(int device) => $"S{device:D2}";

    /// <summary>
    /// PNFY (bus 0) and PNFk (bridge k's bus) (bits, code): Notify(slot, code) for every slot of the bus whose bit is set
    /// (Notify needs a name, hence one If per slot).
    /// </summary>
    private static byte[] NotifySlots(PciHotplugTopology topology, int bus)
    {
        var body = new List<byte[]>();
        uint mask = topology.HotplugMask(bus);
        for (int device = 0; device < PciHotplugTopology.SlotsPerBus; device++)
            if ((mask & (1u << device)) != 0)
                body.Add(If(And(Arg(0), Integer(1UL << device)), Notify(bus == 0 ? SlotName(device) : $"\\_SB.PCI0.BR{bus}.{SlotName(device)}", Arg(1))));
        return Method(bus == 0 ? "PNFY" : $"PNF{bus}", 2, serialized: false, [.. body]);
    }

    /// <summary>Bridge k: a device at its bus-0 slot with a slot device for each of its bus's 32 devices.</summary>
    private static byte[] Bridge(PciHotplugTopology topology, int bus)
    {
        var terms = new List<byte[]>
        {
            Name("_ADR", Integer((ulong)PciHotplugTopology.BridgeSlot(bus) << 16)),
        };
        for (int device = 0; device < PciHotplugTopology.SlotsPerBus; device++) terms.Add(Slot(device, bus));
        return Device($"BR{bus}", [.. terms]);
    }

    /// <summary>
    /// PDSM(uuid, function, slot): function 0 lists functions 0 and 7; function 7 returns Package { instance, label },
    /// the instance being the slot id and the label the slot's current text in the label window.
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

    private static byte[] Slot(int device, int bus)
    {
        int id = bus * PciHotplugTopology.SlotsPerBus + device;
        return Device(SlotName(device),
            Name("_ADR", Integer((ulong)device << 16)),
            Name("_SUN", Integer((ulong)id)),
            Method("_EJ0", 1, serialized: false, Store(Integer(1UL << device), Call("\\_SB.PCI0." + Register("EJD", bus)))),
            Method("_DSM", 4, serialized: false, Return(Call("\\_SB.PCI0.PDSM", Arg(0), Arg(2), Integer((ulong)id)))));
    }
}
