namespace HyperSharp.Machine.Acpi;

/// <summary>
/// The platform facts the ACPI tables describe: processors, interrupt controllers, the power
/// management ports, the PCI host bridge's buses and windows. The machine builder fills it from
/// its memory layout, so tables and devices cannot disagree.
/// </summary>
public sealed record PlatformLayout
{
    public required int ProcessorCount { get; init; }
    public ulong LocalApicAddress { get; init; } = 0xFEE0_0000;
    public ulong IoApicAddress { get; init; } = 0xFEC0_0000;
    public byte IoApicId { get; init; } = 0xFE;
    public ushort PmBase { get; init; } = 0x600;
    public byte SciIrq { get; init; } = 9;
    /// <summary>GPE0 block (Devices/Pm/GpeBlock) and the PCI hotplug registers (Pci/Hotplug), both below the PCI I/O allocation floor of 0x1000.</summary>
    public ushort GpeBase { get; init; } = 0x620;
    public ushort HotplugBase { get; init; } = 0x630;
    /// <summary>PCI-to-PCI bridges with hotplug slots behind them (Pci/Hotplug/PciHotplugTopology), in bus 0's last slots.</summary>
    public int PciBridges { get; init; }
    /// <summary>The MMIO window the slots' _DSM reads labels from: above the 32-bit PCI window and ECAM, below the I/O APIC (64 KiB at most).</summary>
    public uint SlotLabelBase { get; init; } = 0xFEBF_0000;
    public ulong EcamBase { get; init; } = 0xE000_0000;
    public byte EcamLastBus { get; init; } = 255;
    public uint PciMmio32Start { get; init; } = 0xC000_0000;
    public uint PciMmio32End { get; init; } = 0xDFFF_FFFF;
    public ulong PciMmio64Start { get; init; }
    public ulong PciMmio64End { get; init; }
    public ushort ComPort { get; init; } = 0x3F8;
    public byte ComIrq { get; init; } = 4;
}
