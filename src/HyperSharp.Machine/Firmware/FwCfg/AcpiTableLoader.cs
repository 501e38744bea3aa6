using System.Buffers.Binary;
using System.Text;
using HyperSharp.Machine.Acpi;

namespace HyperSharp.Machine.Firmware.FwCfg;

/// <summary>
/// Hands our ACPI tables to the firmware through fw_cfg's linker/loader: "etc/acpi/tables" (the tables, built at
/// address 0 so every pointer in them is an offset in that file), "etc/acpi/rsdp", and "etc/table-loader", the script
/// the firmware runs — allocate both files (the RSDP in the F segment, where guests look for it), add the tables'
/// final address to each pointer, then fix the checksums (each range is summed with its checksum byte, so the checksums the tables were built with
/// for address 0 come out right). The pointers are found by walking the tables (RSDP → XSDT →
/// its entries, FADT → DSDT), so the tables stay those <see cref="AcpiTables"/> builds for kernel boot.
/// </summary>
public static class AcpiTableLoader
{
    public const string TablesFile = "etc/acpi/tables", RsdpFile = "etc/acpi/rsdp", LoaderFile = "etc/table-loader";
    private const uint Allocate = 1, AddPointer = 2, AddChecksum = 3;
    private const byte ZoneHigh = 1, ZoneFSegment = 2;
    private const int EntrySize = 128, NameSize = 56, RsdpLength = 36;
    private const int RsdpXsdtOffset = 24, XsdtEntries = AcpiTable.HeaderSize, FadtDsdt = 40, FadtXDsdt = 140;

    /// <summary>Adds the three files to <paramref name="items"/>.</summary>
    public static void Add(FwCfgItems items, PlatformLayout layout)
    {
        var blob = AcpiTables.Build(layout, 0).Data; // RSDP at 0, then the tables; pointers are offsets in blob
        var rsdp = blob.AsSpan(0, RsdpLength).ToArray();
        var script = new List<byte>();
        Command(script, Allocate, w => { Name(w, RsdpFile); BinaryPrimitives.WriteUInt32LittleEndian(w[NameSize..], 16); w[NameSize + 4] = ZoneFSegment; });
        Command(script, Allocate, w => { Name(w, TablesFile); BinaryPrimitives.WriteUInt32LittleEndian(w[NameSize..], 64); w[NameSize + 4] = ZoneHigh; });
        Pointer(script, RsdpFile, RsdpXsdtOffset, 8);
        int xsdt = (int)BinaryPrimitives.ReadUInt64LittleEndian(rsdp.AsSpan(RsdpXsdtOffset));
        int xsdtLength = TableLength(blob, xsdt, "XSDT");
        for (int entry = xsdt + XsdtEntries; entry < xsdt + xsdtLength; entry += 8)
        {
            Pointer(script, TablesFile, entry, 8);
            int table = (int)BinaryPrimitives.ReadUInt64LittleEndian(blob.AsSpan(entry));
            if (Encoding.ASCII.GetString(blob, table, 4) == "FACP")
            {
                Pointer(script, TablesFile, table + FadtDsdt, 4);
                Pointer(script, TablesFile, table + FadtXDsdt, 8);
                Checksum(script, TablesFile, table, TableLength(blob, table, "FACP"), 9);
            }
        }
        Checksum(script, TablesFile, xsdt, xsdtLength, 9);
        Checksum(script, RsdpFile, 0, 20, 8);            // the ACPI 1.0 checksum covers the first 20 bytes
        Checksum(script, RsdpFile, 0, RsdpLength, 32);    // the extended one all 36
        items.AddFile(TablesFile, blob);
        items.AddFile(RsdpFile, rsdp);
        items.AddFile(LoaderFile, script.ToArray());
    }

    private static int TableLength(byte[] blob, int at, string signature)
    {
        if (at <= 0 || at + AcpiTable.HeaderSize > blob.Length || Encoding.ASCII.GetString(blob, at, 4) != signature)
            throw new InvalidOperationException($"ACPI tables: no {signature} at offset {at} of the built tables");
        return (int)BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(at + 4));
    }

    private static void Pointer(List<byte> script, string file, int offset, byte size) =>
        Command(script, AddPointer, w => { Name(w, file); Name(w[NameSize..], TablesFile); BinaryPrimitives.WriteUInt32LittleEndian(w[(2 * NameSize)..], (uint)offset); w[2 * NameSize + 4] = size; });

    private static void Checksum(List<byte> script, string file, int start, int length, int checksumOffset) =>
        Command(script, AddChecksum, w => { Name(w, file); BinaryPrimitives.WriteUInt32LittleEndian(w[NameSize..], (uint)(start + checksumOffset)); BinaryPrimitives.WriteUInt32LittleEndian(w[(NameSize + 4)..], (uint)start); BinaryPrimitives.WriteUInt32LittleEndian(w[(NameSize + 8)..], (uint)length); });

    private delegate void Fill(Span<byte> body);

    private static void Command(List<byte> script, uint command, Fill fill)
    {
        var entry = new byte[EntrySize];
        BinaryPrimitives.WriteUInt32LittleEndian(entry, command);
        fill(entry.AsSpan(4));
        script.AddRange(entry);
    }

    private static void Name(Span<byte> field, string name) => Encoding.ASCII.GetBytes(name).CopyTo(field);
}
