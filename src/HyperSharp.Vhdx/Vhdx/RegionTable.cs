using System.Buffers.Binary;

namespace HyperSharp.Vhdx.Vhdx;

/// <summary>An entry of the region table: where a region (BAT, metadata, or one we do not know) lives in the file.</summary>
internal readonly record struct RegionEntry(Guid Guid, long FileOffset, uint Length, bool Required);

/// <summary>The 64 KiB region table (two copies in the header section), parsed and serialized.</summary>
internal static class RegionTable
{
    /// <summary>Parses a table; returns an error text instead of throwing so callers can name the copy and offset.</summary>
    public static List<RegionEntry>? TryParse(ReadOnlySpan<byte> table, out string? error)
    {
        error = null;
        if (BinaryPrimitives.ReadUInt32LittleEndian(table) != VhdxFormat.RegionSignature) { error = "signature is not 'regi'"; return null; }
        if (!Crc32C.Verify(table[..VhdxFormat.RegionTableSize], 4)) { error = "checksum mismatch"; return null; }
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(table[8..]);
        if (count > VhdxFormat.MaxRegionEntries) { error = $"entry count {count} exceeds {VhdxFormat.MaxRegionEntries}"; return null; }
        var entries = new List<RegionEntry>((int)count);
        for (int i = 0; i < count; i++)
        {
            var e = table.Slice(16 + i * 32, 32);
            var entry = new RegionEntry(new Guid(e[..16]), (long)BinaryPrimitives.ReadUInt64LittleEndian(e[16..]),
                BinaryPrimitives.ReadUInt32LittleEndian(e[24..]), (BinaryPrimitives.ReadUInt32LittleEndian(e[28..]) & 1) != 0);
            if (entry.FileOffset < VhdxFormat.MiB || entry.FileOffset % VhdxFormat.MiB != 0 || entry.FileOffset > long.MaxValue / 2)
            { error = $"entry {i} ({entry.Guid}) has file offset 0x{entry.FileOffset:X}, which is not a multiple of 1 MiB at or after 1 MiB"; return null; }
            if (entry.Length == 0 || entry.Length % VhdxFormat.MiB != 0)
            { error = $"entry {i} ({entry.Guid}) has length {entry.Length}, which is not a non-zero multiple of 1 MiB"; return null; }
            foreach (var other in entries)
            {
                if (other.Guid == entry.Guid) { error = $"entry {i} repeats region {entry.Guid}"; return null; }
                if (entry.FileOffset < other.FileOffset + other.Length && other.FileOffset < entry.FileOffset + entry.Length)
                { error = $"entry {i} ({entry.Guid}) overlaps region {other.Guid}"; return null; }
            }
            entries.Add(entry);
        }
        return entries;
    }

    public static void WriteTo(Span<byte> table, IReadOnlyList<RegionEntry> entries)
    {
        table[..VhdxFormat.RegionTableSize].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(table, VhdxFormat.RegionSignature);
        BinaryPrimitives.WriteUInt32LittleEndian(table[8..], (uint)entries.Count);
        for (int i = 0; i < entries.Count; i++)
        {
            var e = table.Slice(16 + i * 32, 32);
            entries[i].Guid.TryWriteBytes(e);
            BinaryPrimitives.WriteUInt64LittleEndian(e[16..], (ulong)entries[i].FileOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(e[24..], entries[i].Length);
            BinaryPrimitives.WriteUInt32LittleEndian(e[28..], entries[i].Required ? 1u : 0u);
        }
        Crc32C.Stamp(table[..VhdxFormat.RegionTableSize], 4);
    }
}
