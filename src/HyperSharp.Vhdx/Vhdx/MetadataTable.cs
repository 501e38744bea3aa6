using System.Buffers.Binary;

namespace HyperSharp.Vhdx.Vhdx;

/// <summary>An entry of the metadata table: one item's identity, flags and place inside the metadata region.</summary>
internal readonly record struct MetadataEntry(Guid ItemId, uint Offset, uint Length, bool IsUser, bool IsVirtualDisk, bool IsRequired);

/// <summary>The 64 KiB table at the start of the metadata region.</summary>
internal static class MetadataTable
{
    public static List<MetadataEntry>? TryParse(ReadOnlySpan<byte> table, long regionLength, out string? error)
    {
        error = null;
        if (BinaryPrimitives.ReadUInt64LittleEndian(table) != VhdxFormat.MetadataSignature) { error = "signature is not 'metadata'"; return null; }
        ushort count = BinaryPrimitives.ReadUInt16LittleEndian(table[10..]);
        if (count > VhdxFormat.MaxMetadataEntries) { error = $"entry count {count} exceeds {VhdxFormat.MaxMetadataEntries}"; return null; }
        var entries = new List<MetadataEntry>(count);
        int userCount = 0;
        for (int i = 0; i < count; i++)
        {
            var e = table.Slice(32 + i * 32, 32);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(e[24..]);
            var entry = new MetadataEntry(new Guid(e[..16]), BinaryPrimitives.ReadUInt32LittleEndian(e[16..]),
                BinaryPrimitives.ReadUInt32LittleEndian(e[20..]), (flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0);
            if (entry.Length == 0 && entry.Offset != 0) { error = $"item {i} ({entry.ItemId}) has length 0 but offset {entry.Offset}"; return null; }
            if (entry.Length > VhdxFormat.MiB) { error = $"item {i} ({entry.ItemId}) has length {entry.Length}, more than 1 MiB"; return null; }
            if (entry.Length != 0 && (entry.Offset < VhdxFormat.MetadataTableSize || entry.Offset + (long)entry.Length > regionLength))
            { error = $"item {i} ({entry.ItemId}) at offset {entry.Offset} length {entry.Length} lies outside the metadata region (64 KiB..{regionLength})"; return null; }
            foreach (var other in entries)
            {
                if (other.ItemId == entry.ItemId && other.IsUser == entry.IsUser) { error = $"item {i} repeats {entry.ItemId}"; return null; }
                if (entry.Length != 0 && other.Length != 0 && entry.Offset < other.Offset + other.Length && other.Offset < entry.Offset + entry.Length)
                { error = $"item {i} ({entry.ItemId}) overlaps item {other.ItemId}"; return null; }
            }
            if (entry.IsUser && ++userCount > 1024) { error = "more than 1024 user items"; return null; }
            entries.Add(entry);
        }
        return entries;
    }

    public static void WriteTo(Span<byte> table, IReadOnlyList<MetadataEntry> entries)
    {
        table[..VhdxFormat.MetadataTableSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(table, VhdxFormat.MetadataSignature);
        BinaryPrimitives.WriteUInt16LittleEndian(table[10..], (ushort)entries.Count);
        for (int i = 0; i < entries.Count; i++)
        {
            var e = table.Slice(32 + i * 32, 32);
            var entry = entries[i];
            entry.ItemId.TryWriteBytes(e);
            BinaryPrimitives.WriteUInt32LittleEndian(e[16..], entry.Offset);
            BinaryPrimitives.WriteUInt32LittleEndian(e[20..], entry.Length);
            uint flags = (entry.IsUser ? 1u : 0) | (entry.IsVirtualDisk ? 2u : 0) | (entry.IsRequired ? 4u : 0);
            BinaryPrimitives.WriteUInt32LittleEndian(e[24..], flags);
        }
    }
}
