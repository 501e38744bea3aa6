using System.Buffers.Binary;
using System.Diagnostics;
using HyperSharp.Machine.Acpi;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.Acpi;

/// <summary>The hotplug part of our DSDT and FADT, decompiled by iasl (ACPICA), a peer we did not write.</summary>
public class PciHotplugAmlTests(ITestOutputHelper output)
{
    private static readonly PlatformLayout Layout = new() { ProcessorCount = 2, PciMmio64Start = 0x80_0000_0000, PciMmio64End = 0x8F_FFFF_FFFF };

    private static byte[] Table(AcpiBlob blob, string signature)
    {
        for (int at = 64; at + 36 <= blob.Data.Length; at += 16)
            if (System.Text.Encoding.ASCII.GetString(blob.Data, at, 4) == signature)
                return blob.Data.AsSpan(at, BinaryPrimitives.ReadInt32LittleEndian(blob.Data.AsSpan(at + 4))).ToArray();
        throw new InvalidOperationException(signature + " not found");
    }

    [Fact]
    public void FadtNamesTheGpeBlock()
    {
        var fadt = Table(AcpiTables.Build(Layout, 0xE0000), "FACP");
        Assert.Equal(Layout.GpeBase, BinaryPrimitives.ReadUInt32LittleEndian(fadt.AsSpan(80)));
        Assert.Equal(4, fadt[92]);                                              // GPE0_BLK_LEN: 16 events
        Assert.Equal(1, fadt[220]);                                             // X_GPE0_BLK in system I/O
        Assert.Equal(32, fadt[221]);
        Assert.Equal(Layout.GpeBase, BinaryPrimitives.ReadUInt64LittleEndian(fadt.AsSpan(224)));
    }

    private string Decompile(PlatformLayout layout)
    {
        var blob = AcpiTables.Build(layout, 0xE0000);
        string dir = Directory.CreateTempSubdirectory("hs-hpaml").FullName;
        try
        {
            string path = Path.Combine(dir, "dsdt.dat");
            File.WriteAllBytes(path, Table(blob, "DSDT"));
            var psi = new ProcessStartInfo("/usr/bin/iasl", ["-d", path]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
            using var p = Process.Start(psi)!;
            string log = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"iasl -d failed: {log}");
            string dsl = File.ReadAllText(Path.ChangeExtension(path, ".dsl"));
            output.WriteLine(dsl);
            Assert.DoesNotContain("**** Invalid", dsl);
            Assert.DoesNotContain("Unknown", dsl);
            // Recompiling the decompiled source proves every method body parsed as the statements we meant.
            var compile = new ProcessStartInfo("/usr/bin/iasl", ["-p", Path.Combine(dir, "again"), Path.ChangeExtension(path, ".dsl")]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
            using var c = Process.Start(compile)!;
            string clog = c.StandardOutput.ReadToEnd() + c.StandardError.ReadToEnd();
            c.WaitForExit();
            output.WriteLine(clog);
            Assert.True(c.ExitCode == 0, $"iasl could not recompile the decompiled DSDT: {clog}");
            Assert.Contains("0 Errors", clog);
            return dsl;
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void IaslDecompilesTheHotplugSlotsGpeMethodAndLabelDsm()
    {
        if (!File.Exists("/usr/bin/iasl")) { output.WriteLine("skipped: iasl is not installed (Debian package acpica-tools; eng/install-test-deps.sh installs it)"); return; }
        string dsl = Decompile(Layout);
        {
            for (int slot = 1; slot < 32; slot++)
                Assert.Matches($@"Device \(S{slot:D2}\)\s*\{{\s*Name \(_ADR, 0x{slot:X4}0000\)[^\n]*\s*Name \(_SUN, 0x{slot:X2}\)", dsl.Replace("_SUN, One)", "_SUN, 0x01)"));
            Assert.Contains("Method (_EJ0, 1, NotSerialized)", dsl);
            Assert.Contains("Method (_DSM, 4, NotSerialized)", dsl);
            Assert.Contains("ToUUID (\"e5c937d0-3553-4d7a-9117-ea4d19c3434d\")", dsl);
            Assert.Contains("OperationRegion (PHPR, SystemIO, 0x0630, 0x10)", dsl);
            Assert.Contains("OperationRegion (PLBR, SystemMemory,", dsl);
            Assert.Matches(@"Scope \(\\_GPE\)\s*\{\s*Method \(_E01, 0, NotSerialized\)[^\n]*\s*\{\s*\\_SB\.PCI0\.PSCN \(\)", dsl);
            Assert.Matches(@"Notify \(S31, Arg1\)", dsl);
            Assert.Contains("PNP0C02", dsl);
        }
    }

    [Fact]
    public void BridgesCarryTheirOwnSlotsWithSlotIdsAndTheirBusRegisters()
    {
        if (!File.Exists("/usr/bin/iasl")) { output.WriteLine("skipped: iasl is not installed (Debian package acpica-tools; eng/install-test-deps.sh installs it)"); return; }
        string dsl = Decompile(Layout with { PciBridges = 3 }).Replace("_SUN, One)", "_SUN, 0x01)");
        Assert.Contains("OperationRegion (PHPR, SystemIO, 0x0630, 0x40)", dsl);
        Assert.Matches(@"Device \(S28\)", dsl);
        Assert.DoesNotContain("Name (_SUN, 0x1D)", dsl); // bus 0's slot 29 holds bridge 3: no hotplug slot there
        for (int bridge = 1; bridge <= 3; bridge++)
        {
            Assert.Matches($@"Device \(BR{bridge}\)\s*\{{\s*Name \(_ADR, 0x00{32 - bridge:X2}0000\)", dsl);
            Assert.Matches($@"Device \(S31\)\s*\{{\s*Name \(_ADR, 0x001F0000\)[^\n]*\s*Name \(_SUN, 0x{bridge * 32 + 31:X2}\)", dsl);
            Assert.Contains($"\\_SB.PCI0.EJD{bridge} =", dsl.Replace("Store (0x80000000, \\_SB.PCI0.EJD", "\\_SB.PCI0.EJD").Replace("Store (", ""));
            Assert.Contains($"PNF{bridge} (Local0, One)", dsl);
            Assert.Contains($"Notify (\\_SB.PCI0.BR{bridge}.S00, Arg1)", dsl);
        }
    }
}
