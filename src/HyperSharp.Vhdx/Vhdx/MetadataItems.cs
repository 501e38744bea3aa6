using System.Buffers.Binary;

namespace HyperSharp.Vhdx.Vhdx;

/// <summary>Typed access to the items of a loaded metadata region, with errors that name the item and its offset.</summary>
internal sealed class MetadataItems(VhdxStorage storage, RegionEntry region, byte[] content, List<MetadataEntry> entries)
{
    public static bool IsKnown(Guid id) =>
        id == VhdxFormat.FileParametersItem || id == VhdxFormat.VirtualDiskSizeItem || id == VhdxFormat.VirtualDiskIdItem
        || id == VhdxFormat.LogicalSectorSizeItem || id == VhdxFormat.PhysicalSectorSizeItem || id == VhdxFormat.ParentLocatorItem;

    public long OffsetOf(Guid id) => region.FileOffset + entries.First(e => e.ItemId == id && !e.IsUser).Offset;

    public ReadOnlyMemory<byte> Find(Guid id, string name, int minLength = 1)
    {
        foreach (var e in entries)
        {
            if (e.ItemId != id || e.IsUser) continue;
            if (e.Length < minLength)
                throw VhdxParser.Corrupt(storage, $"metadata item '{name}'", region.FileOffset + e.Offset, $"is {e.Length} bytes, needs at least {minLength}");
            return content.AsMemory((int)e.Offset, (int)e.Length);
        }
        throw VhdxParser.Corrupt(storage, "metadata table", region.FileOffset, $"required item '{name}' ({id}) is missing");
    }

    public uint ReadUInt32(Guid id, int minLength, string name, int flagsOffset, out uint flags)
    {
        var span = Find(id, name, minLength).Span;
        flags = flagsOffset > 0 ? BinaryPrimitives.ReadUInt32LittleEndian(span[flagsOffset..]) : 0;
        return BinaryPrimitives.ReadUInt32LittleEndian(span);
    }

    public ulong ReadUInt64(Guid id, string name) => BinaryPrimitives.ReadUInt64LittleEndian(Find(id, name, 8).Span);

    public Guid ReadGuid(Guid id, string name) => new(Find(id, name, 16).Span[..16]);
}
