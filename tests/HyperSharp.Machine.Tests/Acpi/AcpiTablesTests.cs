using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using HyperSharp.Machine.Acpi;
using Xunit.Abstractions;

namespace HyperSharp.Machine.Tests.Acpi;

/// <summary>Our tables followed from the RSDP like a guest does, then disassembled by iasl (ACPICA), a peer we did not write.</summary>
public class AcpiTablesTests(ITestOutputHelper output)
{
    private const ulong Base = 0xE0000;

    private static Dictionary<string, byte[]> Walk(AcpiBlob blob)
    {
        var data = blob.Data;
        int At(ulong address) => (int)(address - blob.Address);
        var rsdp = data.AsSpan(At(blob.RsdpAddress), 36);
        Assert.True(rsdp[..8].SequenceEqual("RSD PTR "u8));
        Assert.Equal(0, Sum(rsdp[..20]));
        Assert.Equal(0, Sum(rsdp));
        var tables = new Dictionary<string, byte[]>();
        byte[] Table(ulong address)
        {
            int len = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(At(address) + 4));
            var t = data.AsSpan(At(address), len).ToArray();
            Assert.Equal(0, Sum(t));
            tables[Encoding.ASCII.GetString(t, 0, 4)] = t;
            return t;
        }
        var xsdt = Table(BinaryPrimitives.ReadUInt64LittleEndian(rsdp[24..]));
        for (int i = 36; i < xsdt.Length; i += 8)
        {
            var t = Table(BinaryPrimitives.ReadUInt64LittleEndian(xsdt.AsSpan(i)));
            if (tables.ContainsKey("FACP") && t == tables["FACP"]) Table(BinaryPrimitives.ReadUInt64LittleEndian(t.AsSpan(140)));
        }
        return tables;
    }

    private static byte Sum(ReadOnlySpan<byte> bytes) { byte s = 0; foreach (var b in bytes) s += b; return s; }

    [Fact]
    public void TablesChainFromTheRsdpAndChecksumsHold()
    {
        var blob = AcpiTables.Build(new PlatformLayout { ProcessorCount = 4, PciMmio64Start = 0x100_0000_0000, PciMmio64End = 0x10F_FFFF_FFFF }, Base);
        var tables = Walk(blob);
        Assert.Equal(["APIC", "DSDT", "FACP", "MCFG", "XSDT"], tables.Keys.Order().ToArray());
        var madt = tables["APIC"];
        int lapics = 0;
        for (int i = 44; i < madt.Length; i += madt[i + 1]) if (madt[i] == 0) lapics++;
        Assert.Equal(4, lapics);
    }

    [Fact]
    public void IaslDisassemblesEveryTableWithoutComplaint()
    {
        if (!File.Exists("/usr/bin/iasl")) { output.WriteLine("skipped: iasl is not installed (Debian package acpica-tools; eng/install-test-deps.sh installs it)"); return; }
        var blob = AcpiTables.Build(new PlatformLayout { ProcessorCount = 2, PciMmio64Start = 0x80_0000_0000, PciMmio64End = 0x8F_FFFF_FFFF }, Base);
        string dir = Directory.CreateTempSubdirectory("hs-acpi").FullName;
        try
        {
            var text = new Dictionary<string, string>();
            foreach (var (sig, table) in Walk(blob))
            {
                string path = Path.Combine(dir, sig.ToLowerInvariant() + ".dat");
                File.WriteAllBytes(path, table);
                var psi = new ProcessStartInfo("/usr/bin/iasl", ["-d", path]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
                using var p = Process.Start(psi)!;
                string log = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
                p.WaitForExit();
                Assert.True(p.ExitCode == 0, $"iasl -d {sig} failed: {log}");
                text[sig] = File.ReadAllText(Path.ChangeExtension(path, ".dsl"));
                Assert.DoesNotContain("**** Invalid", text[sig]);
                Assert.DoesNotContain("Incorrect checksum", text[sig]);
            }
            Assert.Contains("PNP0A08", text["DSDT"]);
            Assert.Contains("Name (\\_S5, Package (0x04)", text["DSDT"]);
            Assert.Contains("WordBusNumber", text["DSDT"]);
            Assert.Contains("QWordMemory", text["DSDT"]);
            Assert.Matches(@"Device \(COM1\)[\s\S]*IRQNoFlags \(\)\s*\{4\}", text["DSDT"]);
            Assert.Contains("PM1A Event Block Address : 00000600", text["FACP"]);
            Assert.Contains("Reset Register", text["FACP"]);
            Assert.Contains("Interrupt Source Override", text["APIC"]);
            Assert.Contains("Base Address : 00000000E0000000", text["MCFG"]);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AmlEncodingsMatchTheSpecificationExamples()
    {
        Assert.Equal(0x080AD041u, Aml.EisaId("PNP0A08"));
        Assert.Equal(0x030AD041u, Aml.EisaId("PNP0A03"));
        Assert.Equal([0x5C, 0x2E, (byte)'_', (byte)'S', (byte)'B', (byte)'_', (byte)'P', (byte)'C', (byte)'I', (byte)'0'], Aml.NameString("\\_SB.PCI0"));
        var big = Aml.Package(Enumerable.Range(0, 40).Select(i => Aml.Integer(0x1000)).ToArray()); // 120-byte body: 2-byte PkgLength
        Assert.Equal(0x12, big[0]);
        Assert.Equal(0x40 | ((big.Length - 1) & 0xF), big[1]);
        Assert.Equal((big.Length - 1) >> 4, big[2]);
        Assert.Throws<ArgumentException>(() => Aml.NameString("TOOLONG"));
    }
}
