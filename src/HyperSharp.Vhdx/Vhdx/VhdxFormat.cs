namespace HyperSharp.Vhdx.Vhdx;

/// <summary>Constants of the VHDX format (MS-VHDX): signatures, fixed offsets, GUIDs of known regions and metadata items.</summary>
internal static class VhdxFormat
{
    public const long KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB, TiB = 1024 * GiB;

    public const ulong FileSignature = 0x656C6966_78646876; // "vhdxfile"
    public const uint HeaderSignature = 0x64616568;          // "head"
    public const uint RegionSignature = 0x69676572;          // "regi"
    public const ulong MetadataSignature = 0x61746164_6174656D; // "metadata"
    public const uint LogEntrySignature = 0x65676F6C;        // "loge"
    public const uint DataDescriptorSignature = 0x63736564;  // "desc"
    public const uint ZeroDescriptorSignature = 0x6F72657A;  // "zero"
    public const uint DataSectorSignature = 0x61746164;      // "data"

    public const long HeaderSectionSize = 1 * MiB;
    public const long Header1Offset = 64 * KiB;
    public const long Header2Offset = 128 * KiB;
    public const int HeaderSize = 4096;
    public const long RegionTable1Offset = 192 * KiB;
    public const long RegionTable2Offset = 256 * KiB;
    public const int RegionTableSize = 64 * (int)KiB;
    public const int MaxRegionEntries = 2047;
    public const int MetadataTableSize = 64 * (int)KiB;
    public const int MaxMetadataEntries = 2047;
    public const int LogSectorSize = 4096;

    public const long MaxVirtualDiskSize = 64 * TiB;
    public const int MinBlockSize = 1 * (int)MiB;
    public const int MaxBlockSize = 256 * (int)MiB;
    public const long SectorBitmapBlockSize = 1 * MiB;
    public const long SectorsPerBitmapBlock = 1L << 23;

    public const ushort SupportedVersion = 1;
    public const ushort SupportedLogVersion = 0;

    public static readonly Guid BatRegion = new("2DC27766-F623-4200-9D64-115E9BFD4A08");
    public static readonly Guid MetadataRegion = new("8B7CA206-4790-4B9A-B8FE-575F050F886E");

    public static readonly Guid FileParametersItem = new("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
    public static readonly Guid VirtualDiskSizeItem = new("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
    public static readonly Guid VirtualDiskIdItem = new("BECA12AB-B2E6-4523-93EF-C309E000C746");
    public static readonly Guid LogicalSectorSizeItem = new("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
    public static readonly Guid PhysicalSectorSizeItem = new("CDA348C7-445D-4471-9CC9-E9885251C556");
    public static readonly Guid ParentLocatorItem = new("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");
    public static readonly Guid VhdxParentLocatorType = new("B04AEFB7-D19E-4A81-B789-25B8E9445913");

    public static long RoundUp(long value, long unit) => (value + unit - 1) / unit * unit;
}
