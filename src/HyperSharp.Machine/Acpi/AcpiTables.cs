using System.Buffers.Binary;
using HyperSharp.Machine.Devices.Pm;

namespace HyperSharp.Machine.Acpi;

/// <summary>The tables placed in guest memory, and where the guest finds them (the RSDP address).</summary>
public sealed record AcpiBlob(ulong RsdpAddress, ulong Address, byte[] Data);

/// <summary>
/// Builds the ACPI tables Linux needs to find processors, interrupt routing and PCI, and to shut
/// down and reboot: RSDP, XSDT, FADT (PM1 event/control, PM timer, GPE0, reset register), MADT (one local
/// APIC per vCPU, the I/O APIC, ISA overrides), MCFG (ECAM) and a DSDT (PCI host bridge with its
/// windows and legacy interrupt routing, COM1, RTC, \_S5).
/// </summary>
public static class AcpiTables
{
    public static AcpiBlob Build(PlatformLayout layout, ulong address)
    {
        if (layout.ProcessorCount is < 1 or > 254) throw new ArgumentOutOfRangeException(nameof(layout), $"{layout.ProcessorCount} processors: the tables describe 1 to 254 (xAPIC IDs)");
        var dsdt = Dsdt.Build(layout);
        var madt = Madt(layout);
        var mcfg = Mcfg(layout);
        // Layout: RSDP (36, padded to 64), XSDT, FADT, MADT, MCFG, DSDT — each 16-byte aligned.
        ulong rsdpAt = address, xsdtAt = address + 64;
        ulong fadtAt = Align(xsdtAt + AcpiTable.HeaderSize + 3 * 8), madtAt = Align(fadtAt + FadtLength);
        ulong mcfgAt = Align(madtAt + (ulong)madt.Length), dsdtAt = Align(mcfgAt + (ulong)mcfg.Length);
        var fadt = Fadt(layout, dsdtAt);
        var xsdtBody = new byte[3 * 8];
        BinaryPrimitives.WriteUInt64LittleEndian(xsdtBody, fadtAt);
        BinaryPrimitives.WriteUInt64LittleEndian(xsdtBody.AsSpan(8), madtAt);
        BinaryPrimitives.WriteUInt64LittleEndian(xsdtBody.AsSpan(16), mcfgAt);
        var xsdt = AcpiTable.Create("XSDT", 1, xsdtBody);
        var blob = new byte[dsdtAt + (ulong)dsdt.Length - address];
        Rsdp(xsdtAt).CopyTo(blob, 0);
        foreach (var (at, table) in new[] { (xsdtAt, xsdt), (fadtAt, fadt), (madtAt, madt), (mcfgAt, mcfg), (dsdtAt, dsdt) })
            table.CopyTo(blob, (int)(at - address));
        return new AcpiBlob(rsdpAt, address, blob);
    }

    private static ulong Align(ulong v) => (v + 15) & ~15UL;

    private static byte[] Rsdp(ulong xsdt)
    {
        var r = new byte[36];
        "RSD PTR "u8.CopyTo(r);
        System.Text.Encoding.ASCII.GetBytes(AcpiTable.OemId).CopyTo(r, 9);
        r[15] = 2; // ACPI 2.0+: use the XSDT
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(20), 36);
        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(24), xsdt);
        r[8] = AcpiTable.Checksum(r.AsSpan(0, 20), 8);
        r[32] = AcpiTable.Checksum(r, 32);
        return r;
    }

    private const int FadtLength = 276;

    private static byte[] Fadt(PlatformLayout l, ulong dsdt)
    {
        var b = new byte[FadtLength - AcpiTable.HeaderSize];
        var s = b.AsSpan();
        int O(int tableOffset) => tableOffset - AcpiTable.HeaderSize;
        BinaryPrimitives.WriteUInt32LittleEndian(s[O(40)..], (uint)dsdt);
        BinaryPrimitives.WriteUInt16LittleEndian(s[O(46)..], l.SciIrq);
        ushort evt = (ushort)(l.PmBase + AcpiPm.EventOffset), cnt = (ushort)(l.PmBase + AcpiPm.ControlOffset), tmr = (ushort)(l.PmBase + AcpiPm.TimerOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(s[O(56)..], evt);
        BinaryPrimitives.WriteUInt32LittleEndian(s[O(64)..], cnt);
        BinaryPrimitives.WriteUInt32LittleEndian(s[O(76)..], tmr);
        s[O(88)] = 4; s[O(89)] = 2; s[O(91)] = 4;
        BinaryPrimitives.WriteUInt32LittleEndian(s[O(80)..], l.GpeBase);       // GPE0_BLK: hotplug events
        s[O(92)] = GpeBlock.Length;
        BinaryPrimitives.WriteUInt16LittleEndian(s[O(96)..], 101);   // C2 latency > 100: no C2
        BinaryPrimitives.WriteUInt16LittleEndian(s[O(98)..], 1001);  // C3 latency > 1000: no C3
        s[O(108)] = 0x32;                                            // CMOS century register
        // Legacy devices, no VGA; no 8042 keyboard controller (as Hyper-V's Generation 2): our i8042 is there only for
        // the reset line, and a guest told there is none skips a probe that otherwise costs seconds of timeouts.
        BinaryPrimitives.WriteUInt16LittleEndian(s[O(109)..], 0x0001 | 0x0004);
        uint flags = 1u << 0 | 1u << 2 | 1u << 5 | 1u << 8 | 1u << 10; // WBINVD, C1, no sleep button, 32-bit timer, reset register
        BinaryPrimitives.WriteUInt32LittleEndian(s[O(112)..], flags);
        AcpiTable.WriteIoGas(s[O(116)..], (ushort)(l.PmBase + AcpiPm.ResetOffset), 8, 1);
        s[O(128)] = AcpiPm.ResetValue;
        BinaryPrimitives.WriteUInt64LittleEndian(s[O(140)..], dsdt);
        AcpiTable.WriteIoGas(s[O(148)..], evt, 32, 2);
        AcpiTable.WriteIoGas(s[O(172)..], cnt, 16, 2);
        AcpiTable.WriteIoGas(s[O(208)..], tmr, 32, 3);
        AcpiTable.WriteIoGas(s[O(220)..], l.GpeBase, 8 * GpeBlock.Length, 1); // X_GPE0_BLK: byte registers
        BinaryPrimitives.WriteUInt64LittleEndian(s[O(268)..], 0x48595045_52534852); // hypervisor vendor "HYPERSHR"
        return AcpiTable.Create("FACP", 6, b);
    }

    private static byte[] Madt(PlatformLayout l)
    {
        var body = new List<byte>();
        body.AddRange(BitConverter.GetBytes((uint)l.LocalApicAddress));
        body.AddRange(BitConverter.GetBytes(1u)); // PCAT_COMPAT: dual 8259s present
        for (int cpu = 0; cpu < l.ProcessorCount; cpu++)
            body.AddRange([0, 8, (byte)cpu, (byte)cpu, 1, 0, 0, 0]); // processor local APIC, enabled
        body.AddRange([1, 12, l.IoApicId, 0, .. BitConverter.GetBytes((uint)l.IoApicAddress), .. BitConverter.GetBytes(0u)]);
        body.AddRange([2, 10, 0, 0, .. BitConverter.GetBytes(2u), 0, 0]);                      // IRQ0 (PIT) -> GSI 2
        body.AddRange([2, 10, 0, l.SciIrq, .. BitConverter.GetBytes((uint)l.SciIrq), 0x0D, 0]); // SCI: level, active high
        body.AddRange([4, 6, 0xFF, 0, 0, 1]);                                                  // NMI on LINT1 of every CPU
        return AcpiTable.Create("APIC", 5, body.ToArray());
    }

    private static byte[] Mcfg(PlatformLayout l)
    {
        var body = new byte[8 + 16];
        BinaryPrimitives.WriteUInt64LittleEndian(body.AsSpan(8), l.EcamBase);
        body[8 + 10] = 0;
        body[8 + 11] = l.EcamLastBus;
        return AcpiTable.Create("MCFG", 1, body);
    }
}
