using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// Lays out a new VHDX file: header section, a 1 MiB log at 1 MiB, the metadata region at 2 MiB,
/// the BAT at 3 MiB, then payload blocks (preallocated for fixed disks). Headers are written last,
/// so a crash during creation leaves a file no one will mistake for a valid image.
/// </summary>
internal static class VhdxCreator
{
    private const long LogOffset = 1 * VhdxFormat.MiB, LogLength = 1 * VhdxFormat.MiB;
    private const long MetadataOffset = 2 * VhdxFormat.MiB, MetadataLength = 1 * VhdxFormat.MiB;
    private const long BatOffset = 3 * VhdxFormat.MiB;

    public static void Create(string path, DiskCreateOptions options)
    {
        string full = Path.GetFullPath(path);
        long capacity = options.Capacity;
        int logical = options.LogicalSectorSize;
        ParentLocator? locator = null;
        if (options.Type == DiskType.Differencing)
        {
            if (string.IsNullOrEmpty(options.ParentPath)) throw new ArgumentException("a differencing disk needs a parent path", nameof(options));
            string parentPath = Path.GetFullPath(options.ParentPath);
            using var parent = VhdxDisk.Open(parentPath, DiskOpenOptions.ReadOnlyDefault with { OpenParent = false });
            capacity = parent.Capacity;
            logical = parent.LogicalSectorSize;
            locator = ParentLocator.For(full, parentPath, parent.DataWriteGuid);
        }
        int blockSize = options.BlockSize != 0 ? options.BlockSize
            : options.Type == DiskType.Differencing ? DiskCreateOptions.DefaultVhdxDifferencingBlockSize : DiskCreateOptions.DefaultVhdxBlockSize;
        int physical = options.PhysicalSectorSize != 0 ? options.PhysicalSectorSize : 4096;
        string? problem = VhdxGeometry.Validate(capacity, blockSize, logical, physical);
        if (problem is not null) throw new ArgumentException($"cannot create {full}: {problem}", nameof(options));
        var geometry = new VhdxGeometry(capacity, blockSize, logical, options.Type == DiskType.Differencing);
        long batLength = VhdxFormat.RoundUp(Math.Max(geometry.BatBytes, 1), VhdxFormat.MiB);
        if (batLength > uint.MaxValue) throw new ArgumentException($"cannot create {full}: its BAT would need {batLength} bytes", nameof(options));
        long payloadStart = BatOffset + batLength;
        bool isFixed = options.Type == DiskType.Fixed;
        long fileLength = isFixed ? payloadStart + geometry.PayloadBlocks * blockSize : payloadStart;

        using var handle = File.OpenHandle(full, options.Overwrite ? FileMode.Create : FileMode.CreateNew, FileAccess.ReadWrite,
            FileShare.None, FileOptions.None, isFixed ? fileLength : 0);
        var storage = new VhdxStorage(full, handle, false);
        storage.SetLength(fileLength);
        WriteIdentifier(storage);
        WriteRegionTables(storage, batLength);
        WriteMetadata(storage, geometry, physical, isFixed, locator);
        WriteBat(storage, geometry, batLength, isFixed, payloadStart);
        storage.Flush();
        var header = new VhdxHeader
        {
            SequenceNumber = 1, FileWriteGuid = Guid.NewGuid(), DataWriteGuid = Guid.NewGuid(), LogGuid = Guid.Empty,
            LogLength = (uint)LogLength, LogOffset = (ulong)LogOffset,
        };
        var buffer = new byte[VhdxFormat.HeaderSize];
        header.WriteTo(buffer);
        storage.Write(VhdxFormat.Header1Offset, buffer);
        (header with { SequenceNumber = 2 }).WriteTo(buffer);
        storage.Write(VhdxFormat.Header2Offset, buffer);
        storage.Flush();
    }

    private static void WriteIdentifier(VhdxStorage storage)
    {
        var id = new byte[8 + 512];
        BinaryPrimitives.WriteUInt64LittleEndian(id, VhdxFormat.FileSignature);
        Encoding.Unicode.GetBytes("HyperSharp").CopyTo(id, 8);
        storage.Write(0, id);
    }

    private static void WriteRegionTables(VhdxStorage storage, long batLength)
    {
        var table = new byte[VhdxFormat.RegionTableSize];
        RegionTable.WriteTo(table, [
            new RegionEntry(VhdxFormat.BatRegion, BatOffset, (uint)batLength, true),
            new RegionEntry(VhdxFormat.MetadataRegion, MetadataOffset, (uint)MetadataLength, true),
        ]);
        storage.Write(VhdxFormat.RegionTable1Offset, table);
        storage.Write(VhdxFormat.RegionTable2Offset, table);
    }

    private static void WriteMetadata(VhdxStorage storage, VhdxGeometry g, int physical, bool isFixed, ParentLocator? locator)
    {
        var region = new byte[MetadataLength];
        var entries = new List<MetadataEntry>();
        uint next = VhdxFormat.MetadataTableSize;
        void Add(Guid id, ReadOnlySpan<byte> value, bool isVirtualDisk)
        {
            value.CopyTo(region.AsSpan((int)next));
            entries.Add(new MetadataEntry(id, next, (uint)value.Length, false, isVirtualDisk, true));
            next += (uint)VhdxFormat.RoundUp(value.Length, 8);
        }
        Span<byte> v = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(v, (uint)g.BlockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(v[4..], (isFixed ? 1u : 0u) | (g.HasParent ? 2u : 0u));
        Add(VhdxFormat.FileParametersItem, v[..8], false);
        BinaryPrimitives.WriteUInt64LittleEndian(v, (ulong)g.VirtualSize);
        Add(VhdxFormat.VirtualDiskSizeItem, v[..8], true);
        Guid.NewGuid().TryWriteBytes(v);
        Add(VhdxFormat.VirtualDiskIdItem, v, true);
        BinaryPrimitives.WriteUInt32LittleEndian(v, (uint)g.LogicalSectorSize);
        Add(VhdxFormat.LogicalSectorSizeItem, v[..4], true);
        BinaryPrimitives.WriteUInt32LittleEndian(v, (uint)physical);
        Add(VhdxFormat.PhysicalSectorSizeItem, v[..4], true);
        if (locator is not null) Add(VhdxFormat.ParentLocatorItem, locator.Serialize(), false);
        MetadataTable.WriteTo(region, entries);
        storage.Write(MetadataOffset, region);
    }

    private static void WriteBat(VhdxStorage storage, VhdxGeometry g, long batLength, bool isFixed, long payloadStart)
    {
        var bat = new ulong[batLength / 8];
        if (isFixed)
            for (long b = 0; b < g.PayloadBlocks; b++)
                bat[g.PayloadIndex(b)] = BatEntry.Make(BlockState.FullyPresent, payloadStart + b * g.BlockSize);
        storage.Write(BatOffset, MemoryMarshal.AsBytes(bat.AsSpan()));
    }
}
