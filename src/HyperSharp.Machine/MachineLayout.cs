using HyperSharp.Machine.Acpi;
using HyperSharp.Machine.Boot;

namespace HyperSharp.Machine;

/// <summary>
/// The guest physical address map of our PC: RAM below the 32-bit PCI hole (up to 3 GiB), the rest
/// of RAM from 4 GiB, the PCI windows (32-bit below 4 GiB, 64-bit above RAM), ECAM, the interrupt
/// controllers, and the ACPI tables in the BIOS area. Guests of any size get the same shape.
/// </summary>
public sealed record MachineLayout
{
    public const ulong LowRamLimit = 0xC000_0000;       // 3 GiB: the PCI hole starts here
    public const ulong HighRamStart = 0x1_0000_0000;    // 4 GiB
    public const ulong EcamBase = 0xE000_0000, EcamSize = 0x1000_0000;
    public const ulong AcpiTablesAddress = 0xE_0000;    // BIOS area, below 1 MiB
    public const ulong BiosAreaEnd = 0x10_0000;
    public const ulong EbdaStart = 0x9_FC00;

    public required ulong RamSize { get; init; }
    public ulong LowRamSize => Math.Min(RamSize, LowRamLimit);
    public ulong HighRamSize => RamSize - LowRamSize;
    public ulong HighRamEnd => HighRamStart + HighRamSize;

    /// <summary>Bytes of guest-physical space kept for memory added while the guest runs (virtio-mem's region); 0 for none.</summary>
    public ulong HotAddSize { get; init; }

    /// <summary>Linux adds memory in blocks of 128 MiB (x86-64 memory sections): the region starts and ends on them.</summary>
    public const ulong HotAddAlignment = 128UL << 20;

    /// <summary>The hot-add region: from the first 1 GiB boundary at or above the end of RAM (and of 4 GiB), outside the e820 map.</summary>
    public ulong HotAddStart => AlignGiB(Math.Max(HighRamEnd, HighRamStart));
    public ulong HotAddEnd => HotAddStart + HotAddSize;

    /// <summary>Host memory to reserve for guest-physical [0, this): RAM and, when there is one, the hot-add region.</summary>
    public ulong AddressSpaceEnd => HotAddSize > 0 ? HotAddEnd : HighRamSize > 0 ? HighRamEnd : LowRamSize;

    /// <summary>64-bit PCI window: 64 GiB from the first 1 GiB boundary at or above the end of RAM (and of 4 GiB) and of the hot-add region.</summary>
    public ulong PciMmio64Start => AlignGiB(HotAddSize > 0 ? HotAddEnd : HotAddStart);
    public ulong PciMmio64Size => 64UL << 30;

    private static ulong AlignGiB(ulong address) => (address + (1UL << 30) - 1) & ~((1UL << 30) - 1);

    /// <param name="hotAddSize">bytes the guest may grow by while it runs (rounded up to 128 MiB blocks); 0 for a fixed size</param>
    public static MachineLayout For(ulong ramSize, ulong hotAddSize = 0)
    {
        if (ramSize < 16UL << 20 || ramSize % 4096 != 0) throw new ArgumentOutOfRangeException(nameof(ramSize), $"memory {ramSize} bytes: at least 16 MiB, in whole 4 KiB pages");
        if (hotAddSize > 16UL << 40) throw new ArgumentOutOfRangeException(nameof(hotAddSize), $"hot-add memory {hotAddSize} bytes: at most 16 TiB");
        return new MachineLayout { RamSize = ramSize, HotAddSize = (hotAddSize + HotAddAlignment - 1) & ~(HotAddAlignment - 1) };
    }

    /// <summary>The e820 map the kernel gets: RAM, the EBDA and BIOS area reserved, the ACPI tables marked as such.</summary>
    public IReadOnlyList<E820Entry> MemoryMap(ulong acpiTablesLength)
    {
        var map = new List<E820Entry>
        {
            new(0, EbdaStart, E820Type.Ram),
            new(EbdaStart, 0xA_0000 - EbdaStart, E820Type.Reserved),
            new(AcpiTablesAddress, BiosAreaEnd - AcpiTablesAddress, acpiTablesLength > 0 ? E820Type.Acpi : E820Type.Reserved),
            new(BiosAreaEnd, LowRamSize - BiosAreaEnd, E820Type.Ram),
            new(EcamBase, EcamSize, E820Type.Reserved),
        };
        if (HighRamSize > 0) map.Add(new(HighRamStart, HighRamSize, E820Type.Ram));
        return map;
    }

    public PlatformLayout Platform(int processors, int pciBridges = 0) => new()
    {
        ProcessorCount = processors,
        PciBridges = pciBridges,
        EcamBase = EcamBase,
        EcamLastBus = (byte)(EcamSize / (1 << 20) - 1),
        PciMmio32Start = (uint)LowRamLimit,
        PciMmio32End = (uint)(EcamBase - 1),
        PciMmio64Start = PciMmio64Start,
        PciMmio64End = PciMmio64Start + PciMmio64Size - 1,
    };
}
