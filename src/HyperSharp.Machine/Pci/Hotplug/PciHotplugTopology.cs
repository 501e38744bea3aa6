using HyperSharp.Machine.Acpi;

namespace HyperSharp.Machine.Pci.Hotplug;

/// <summary>
/// Where the hotplug slots are: bus 0's slots from 1, and behind each PCI-to-PCI bridge all 32 slots of its secondary
/// bus. Bridge k (1-based) sits in bus 0's slot 32 - k and owns bus k, so bridges take bus 0's last slots and the slots
/// before them keep their numbers. A slot is named by one number, its id: bus × 32 + device (bus 0's slots keep their
/// device numbers; bridge 1's are 32-63, and so on). The id is the slot's _SUN, the index of its label in the label
/// window, and what the VM's API calls a slot.
/// </summary>
public sealed record PciHotplugTopology(int Bridges)
{
    public const int SlotsPerBus = 32, MaxBridges = 7;

    public int Bridges { get; } = Bridges is >= 0 and <= MaxBridges ? Bridges
        : throw new ArgumentOutOfRangeException(nameof(Bridges), $"{Bridges} PCI bridges: 0 to {MaxBridges} are allowed");

    public int Buses => 1 + Bridges;

    /// <summary>Slot ids run from 0 to this (exclusive); not every id is a hotplug slot (see <see cref="IsHotplugSlot"/>).</summary>
    public int SlotIds => Buses * SlotsPerBus;

    /// <summary>The last hotplug slot of bus 0 (the ones after it hold the bridges).</summary>
    public int LastRootSlot => SlotsPerBus - 1 - Bridges;

    /// <summary>Bus 0's slot that bridge <paramref name="bridge"/> (1-based) sits in.</summary>
    public static int BridgeSlot(int bridge) => SlotsPerBus - bridge;

    public static int BusOf(int id) => id / SlotsPerBus;

    public static int DeviceOf(int id) => id % SlotsPerBus;

    public bool IsHotplugSlot(int id) => id >= 0 && id < SlotIds && (BusOf(id) > 0 || DeviceOf(id) is >= PciHotplugRegisters.FirstSlot && DeviceOf(id) <= LastRootSlot);

    /// <summary>The hotplug slots of one bus as a bit per device.</summary>
    public uint HotplugMask(int bus) => bus == 0 ? (uint)((1UL << (LastRootSlot + 1)) - 2) : bus <= Bridges ? uint.MaxValue : 0;

    /// <summary>Every hotplug slot id, in the order devices fill them: bus 0 first, then each bridge's bus.</summary>
    public IEnumerable<int> HotplugSlots()
    {
        for (int id = 0; id < SlotIds; id++) if (IsHotplugSlot(id)) yield return id;
    }

    /// <summary>
    /// The GSI a slot's INTA reaches: on bus 0 the DSDT's _PRT entry; behind a bridge the standard swizzle (INTA of device
    /// d becomes pin d mod 4 of the bridge's own slot), which Linux applies when a bridge has no _PRT of its own.
    /// </summary>
    public static uint Gsi(int id) => BusOf(id) == 0 ? Dsdt.GsiFor(DeviceOf(id), 0) : Dsdt.GsiFor(BridgeSlot(BusOf(id)), DeviceOf(id) % 4);

    /// <summary>Bytes of I/O ports the register block takes: 16 per bus.</summary>
    public int RegisterLength => PciHotplugRegisters.BusStride * Buses;

    public int LabelWindowLength => SlotIds * PciHotplugRegisters.LabelStride;

    /// <summary>A readable slot description for messages ("slot 35 (bus 1, device 3)").</summary>
    public static string Describe(int id) => BusOf(id) == 0 ? $"slot {id}" : $"slot {id} (bridge bus {BusOf(id)}, device {DeviceOf(id)})";
}
