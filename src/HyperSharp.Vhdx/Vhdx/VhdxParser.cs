using System.Buffers.Binary;

namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// Reads and validates the structures of a VHDX file — file identifier, headers, region tables,
/// metadata — and throws <see cref="CorruptImageException"/> naming the structure and offset of the
/// first problem. The BAT is validated separately (<see cref="BatValidator"/>).
/// </summary>
internal static class VhdxParser
{
    public const uint MaxMetadataRegionLength = 256 * (uint)VhdxFormat.MiB;

    public static void CheckIdentifier(VhdxStorage storage)
    {
        long length = storage.Length;
        if (length < VhdxFormat.HeaderSectionSize)
            throw Corrupt(storage, "header section", 0, $"the file is {length} bytes, shorter than the 1 MiB VHDX header section (truncated or not a VHDX file)");
        Span<byte> sig = stackalloc byte[8];
        storage.ReadData(0, sig);
        if (BinaryPrimitives.ReadUInt64LittleEndian(sig) != VhdxFormat.FileSignature)
            throw Corrupt(storage, "file type identifier", 0, "signature is not 'vhdxfile'");
    }

    public static (VhdxHeader Header, int Slot) ReadHeaders(VhdxStorage storage)
    {
        var buffer = new byte[VhdxFormat.HeaderSize];
        storage.ReadData(VhdxFormat.Header1Offset, buffer);
        var h1 = VhdxHeader.TryParse(buffer);
        storage.ReadData(VhdxFormat.Header2Offset, buffer);
        var h2 = VhdxHeader.TryParse(buffer);
        var (current, slot) = VhdxHeader.PickCurrent(h1, h2);
        if (current is null)
            throw Corrupt(storage, "headers", VhdxFormat.Header1Offset, "neither header (at 0x10000 and 0x20000) has a valid 'head' signature and CRC-32C checksum");
        long at = slot == 0 ? VhdxFormat.Header1Offset : VhdxFormat.Header2Offset;
        string name = $"header {slot + 1}";
        if (current.Version != VhdxFormat.SupportedVersion)
            throw Corrupt(storage, name, at + 66, $"format version {current.Version} is not supported (only version 1)");
        if (current.LogGuid != Guid.Empty && current.LogVersion != VhdxFormat.SupportedLogVersion)
            throw Corrupt(storage, name, at + 64, $"log version {current.LogVersion} is not supported and the log is not empty");
        if (current.LogOffset < VhdxFormat.HeaderSectionSize || current.LogOffset % VhdxFormat.MiB != 0 || current.LogLength == 0 || current.LogLength % VhdxFormat.MiB != 0)
            throw Corrupt(storage, name, at + 68, $"log at 0x{current.LogOffset:X} of {current.LogLength} bytes is not 1 MiB-aligned after the header section");
        if (current.LogOffset + current.LogLength > (ulong)storage.Length)
            throw Corrupt(storage, name, at + 72, $"log at 0x{current.LogOffset:X} of {current.LogLength} bytes ends beyond the end of the file ({storage.Length} bytes): truncated");
        return (current, slot);
    }

    public static List<RegionEntry> ReadRegions(VhdxStorage storage, VhdxHeader header)
    {
        var table = new byte[VhdxFormat.RegionTableSize];
        string? firstError = null;
        foreach (long at in new[] { VhdxFormat.RegionTable1Offset, VhdxFormat.RegionTable2Offset })
        {
            storage.ReadMetadata(at, table);
            var entries = RegionTable.TryParse(table, out var error);
            if (entries is not null) return ValidateRegions(storage, header, entries, at);
            firstError ??= $"region table 1: {error}";
        }
        throw Corrupt(storage, "region tables", VhdxFormat.RegionTable1Offset, $"no valid copy ({firstError})");
    }

    private static List<RegionEntry> ValidateRegions(VhdxStorage storage, VhdxHeader header, List<RegionEntry> entries, long tableOffset)
    {
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            long entryOffset = tableOffset + 16 + i * 32;
            bool known = e.Guid == VhdxFormat.BatRegion || e.Guid == VhdxFormat.MetadataRegion;
            if (!known && e.Required)
                throw Corrupt(storage, $"region table entry {i}", entryOffset, $"region {e.Guid} is marked required but is not known to this implementation");
            // An optional region we ignore must still lie in the file: the allocator places new blocks after every region.
            if (!known && e.FileOffset > storage.Length - e.Length)
                throw Corrupt(storage, $"region table entry {i}", entryOffset, $"region {e.Guid} at 0x{e.FileOffset:X} of {e.Length} bytes ends beyond the end of the file ({storage.Length} bytes): truncated");
            if (e.FileOffset < (long)header.LogOffset + header.LogLength && (long)header.LogOffset < e.FileOffset + e.Length)
                throw Corrupt(storage, $"region table entry {i}", entryOffset, $"region {e.Guid} at 0x{e.FileOffset:X} overlaps the log");
        }
        return entries;
    }

    public static VhdxImage ReadImage(VhdxStorage storage, VhdxHeader header, int slot)
    {
        var regions = ReadRegions(storage, header);
        var bat = regions.FirstOrDefault(r => r.Guid == VhdxFormat.BatRegion);
        var meta = regions.FirstOrDefault(r => r.Guid == VhdxFormat.MetadataRegion);
        if (bat.Guid == Guid.Empty) throw Corrupt(storage, "region table", VhdxFormat.RegionTable1Offset, "has no BAT region");
        if (meta.Guid == Guid.Empty) throw Corrupt(storage, "region table", VhdxFormat.RegionTable1Offset, "has no metadata region");
        if (meta.FileOffset + meta.Length > storage.Length)
            throw Corrupt(storage, "metadata region", meta.FileOffset, $"ends at 0x{meta.FileOffset + meta.Length:X}, beyond the end of the file ({storage.Length} bytes): truncated");
        if (bat.FileOffset + bat.Length > storage.Length)
            throw Corrupt(storage, "BAT region", bat.FileOffset, $"ends at 0x{bat.FileOffset + bat.Length:X}, beyond the end of the file ({storage.Length} bytes): truncated");

        // The table holds at most 2047 items of at most 1 MiB; real images use 1 MiB. Refuse what would be a huge allocation.
        if (meta.Length > MaxMetadataRegionLength)
            throw Corrupt(storage, "metadata region", meta.FileOffset, $"is {meta.Length} bytes, more than the {MaxMetadataRegionLength >> 20} MiB this implementation accepts");
        var region = new byte[meta.Length];
        storage.ReadMetadata(meta.FileOffset, region);
        var entries = MetadataTable.TryParse(region, meta.Length, out var error)
            ?? throw Corrupt(storage, "metadata table", meta.FileOffset, error!);
        var items = new MetadataItems(storage, meta, region, entries);

        uint fileParams = items.ReadUInt32(VhdxFormat.FileParametersItem, 8, "file parameters", 4, out uint flags);
        long virtualSize = (long)items.ReadUInt64(VhdxFormat.VirtualDiskSizeItem, "virtual disk size");
        uint logical = items.ReadUInt32(VhdxFormat.LogicalSectorSizeItem, 4, "logical sector size", 0, out _);
        uint physical = items.ReadUInt32(VhdxFormat.PhysicalSectorSizeItem, 4, "physical sector size", 0, out _);
        Guid diskId = items.ReadGuid(VhdxFormat.VirtualDiskIdItem, "virtual disk ID");
        bool hasParent = (flags & 2) != 0;
        string? problem = VhdxGeometry.Validate(virtualSize, fileParams, logical, physical);
        if (problem is not null) throw Corrupt(storage, "metadata items", meta.FileOffset, problem);
        var geometry = new VhdxGeometry(virtualSize, (int)fileParams, (int)logical, hasParent);
        if (geometry.BatBytes > bat.Length)
            throw Corrupt(storage, "BAT region", bat.FileOffset, $"is {bat.Length} bytes but {geometry.TotalBatEntries} entries ({geometry.BatBytes} bytes) are needed for a {virtualSize}-byte disk");
        foreach (var e in entries)
            if (e.IsRequired && !e.IsUser && !MetadataItems.IsKnown(e.ItemId))
                throw Corrupt(storage, "metadata table", meta.FileOffset, $"required item {e.ItemId} is not known to this implementation");

        ParentLocator? locator = null;
        if (hasParent)
        {
            var raw = items.Find(VhdxFormat.ParentLocatorItem, "parent locator");
            locator = ParentLocator.TryParse(raw.Span, out var locatorError)
                ?? throw Corrupt(storage, "parent locator", items.OffsetOf(VhdxFormat.ParentLocatorItem), locatorError!);
        }
        return new VhdxImage
        {
            Header = header, HeaderSlot = slot, Regions = regions, BatRegion = bat, MetadataRegion = meta, MetadataEntries = entries,
            Geometry = geometry, PhysicalSectorSize = (int)physical, VirtualDiskId = diskId,
            LeaveBlocksAllocated = (flags & 1) != 0 && !hasParent, ParentLocator = locator,
        };
    }

    public static CorruptImageException Corrupt(VhdxStorage storage, string structure, long offset, string problem) =>
        new(storage.Path, structure, offset, problem);
}
