using System.Buffers.Binary;
using System.Text;
using HyperSharp.Machine.Acpi;
using HyperSharp.Machine.Firmware.FwCfg;

namespace HyperSharp.Machine.Tests.Firmware;

public class FwCfgContentTests
{
    private static readonly MachineLayout Layout = MachineLayout.For(5UL << 30);

    private static byte[] File(FwCfgItems items, string name) => items[items.KeyOf(name) ?? throw new Xunit.Sdk.XunitException($"no {name}")];

    [Fact]
    public void TheMemoryMapHasTheRamBelowTheHoleAndAbove4GiBAndReservesEcam()
    {
        var e820 = File(FwCfgContent.For(Layout, Layout.Platform(1), []), FwCfgContent.E820File);
        Assert.Equal(3 * 20, e820.Length);
        (ulong, ulong, uint) Entry(int i) => (BinaryPrimitives.ReadUInt64LittleEndian(e820.AsSpan(i * 20)), BinaryPrimitives.ReadUInt64LittleEndian(e820.AsSpan(i * 20 + 8)), BinaryPrimitives.ReadUInt32LittleEndian(e820.AsSpan(i * 20 + 16)));
        Assert.Equal((0UL, 3UL << 30, 1u), Entry(0));
        Assert.Equal((MachineLayout.EcamBase, MachineLayout.EcamSize, 2u), Entry(1));
        Assert.Equal((4UL << 30, 2UL << 30, 1u), Entry(2));
    }

    [Fact]
    public void TheSerialConsoleBootOrderAndRetryFilesSayWhatTheyShould()
    {
        var items = FwCfgContent.For(Layout, Layout.Platform(1), ["/pci@i0cf8/scsi@3/disk@0,0"]);
        Assert.Equal(0x3F8, BinaryPrimitives.ReadUInt16LittleEndian(File(items, FwCfgContent.SerialConsoleFile)));
        Assert.Equal(uint.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(File(items, FwCfgContent.BootFailWaitFile)));
        Assert.Equal("/pci@i0cf8/scsi@3/disk@0,0\0", Encoding.ASCII.GetString(File(items, FwCfgContent.BootOrderFile)));
        Assert.Null(FwCfgContent.For(Layout, Layout.Platform(1), []).KeyOf(FwCfgContent.BootOrderFile));
    }

    /// <summary>
    /// Runs the loader script the way the firmware does — place each file, add the placed address of the source to
    /// each pointer, add each range's checksum — and checks the result is a valid table tree at those addresses.
    /// </summary>
    [Fact]
    public void TheLoaderScriptRelocatesTheTablesToWhereverTheFirmwarePutsThem()
    {
        var items = FwCfgContent.For(Layout, Layout.Platform(2), []);
        var files = new Dictionary<string, byte[]>();
        var placed = new Dictionary<string, ulong> { [AcpiTableLoader.RsdpFile] = 0xF_5A30, [AcpiTableLoader.TablesFile] = 0xBFF0_0000 };
        var script = File(items, AcpiTableLoader.LoaderFile);
        Assert.Equal(0, script.Length % 128);
        static string Name(ReadOnlySpan<byte> field) => Encoding.ASCII.GetString(field[..56]).TrimEnd('\0');
        for (int at = 0; at < script.Length; at += 128)
        {
            var e = script.AsSpan(at + 4);
            switch (BinaryPrimitives.ReadUInt32LittleEndian(script.AsSpan(at)))
            {
                case 1:
                    files[Name(e)] = (byte[])File(items, Name(e)).Clone();
                    Assert.Equal(Name(e) == AcpiTableLoader.RsdpFile ? 2 : 1, e[60]);   // the RSDP in the F segment
                    break;
                case 2:
                    var dest = files[Name(e)]; uint offset = BinaryPrimitives.ReadUInt32LittleEndian(e[112..]); byte size = e[116];
                    Assert.Equal(AcpiTableLoader.TablesFile, Name(e[56..]));
                    if (size == 8) BinaryPrimitives.WriteUInt64LittleEndian(dest.AsSpan((int)offset), BinaryPrimitives.ReadUInt64LittleEndian(dest.AsSpan((int)offset)) + placed[Name(e[56..])]);
                    else BinaryPrimitives.WriteUInt32LittleEndian(dest.AsSpan((int)offset), BinaryPrimitives.ReadUInt32LittleEndian(dest.AsSpan((int)offset)) + (uint)placed[Name(e[56..])]);
                    break;
                case 3:
                    var file = files[Name(e)]; int checksumAt = (int)BinaryPrimitives.ReadUInt32LittleEndian(e[56..]);
                    int start = (int)BinaryPrimitives.ReadUInt32LittleEndian(e[60..]), length = (int)BinaryPrimitives.ReadUInt32LittleEndian(e[64..]);
                    byte sum = 0; foreach (byte b in file.AsSpan(start, length)) sum += b;
                    file[checksumAt] -= sum;
                    break;
                default: throw new Xunit.Sdk.XunitException("unknown loader command");
            }
        }
        var rsdp = files[AcpiTableLoader.RsdpFile];
        var tables = files[AcpiTableLoader.TablesFile];
        Assert.Equal("RSD PTR ", Encoding.ASCII.GetString(rsdp, 0, 8));
        Assert.Equal(0, Sum(rsdp.AsSpan(0, 20)));
        Assert.Equal(0, Sum(rsdp.AsSpan(0, 36)));
        Span<byte> Table(ulong address) { int at = (int)(address - placed[AcpiTableLoader.TablesFile]); return tables.AsSpan(at, (int)BinaryPrimitives.ReadUInt32LittleEndian(tables.AsSpan(at + 4))); }
        var xsdt = Table(BinaryPrimitives.ReadUInt64LittleEndian(rsdp.AsSpan(24)));
        Assert.Equal("XSDT", Encoding.ASCII.GetString(xsdt[..4]));
        Assert.Equal(0, Sum(xsdt));
        var signatures = new List<string>();
        for (int i = AcpiTable.HeaderSize; i < xsdt.Length; i += 8)
        {
            var table = Table(BinaryPrimitives.ReadUInt64LittleEndian(xsdt[i..]));
            Assert.Equal(0, Sum(table));
            signatures.Add(Encoding.ASCII.GetString(table[..4]));
            if (signatures[^1] != "FACP") continue;
            var dsdt = Table(BinaryPrimitives.ReadUInt64LittleEndian(table[140..]));
            Assert.Equal("DSDT", Encoding.ASCII.GetString(dsdt[..4]));
            Assert.Equal(BinaryPrimitives.ReadUInt64LittleEndian(table[140..]), BinaryPrimitives.ReadUInt32LittleEndian(table[40..]));
            Assert.Equal(0, Sum(dsdt));
        }
        Assert.Equal(["FACP", "APIC", "MCFG"], signatures);
    }

    private static byte Sum(ReadOnlySpan<byte> data) { byte s = 0; foreach (byte b in data) s += b; return s; }
}
