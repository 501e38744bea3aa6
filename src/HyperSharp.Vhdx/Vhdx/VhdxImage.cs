namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// Everything parsed from an image's header section and metadata region: the current header,
/// the regions, the known metadata items. Produced by <see cref="VhdxParser"/>.
/// </summary>
internal sealed record VhdxImage
{
    public required VhdxHeader Header { get; init; }
    public required int HeaderSlot { get; init; }
    public required List<RegionEntry> Regions { get; init; }
    public required RegionEntry BatRegion { get; init; }
    public required RegionEntry MetadataRegion { get; init; }
    public required List<MetadataEntry> MetadataEntries { get; init; }
    public required VhdxGeometry Geometry { get; init; }
    public required int PhysicalSectorSize { get; init; }
    public required Guid VirtualDiskId { get; init; }
    public required bool LeaveBlocksAllocated { get; init; }
    public ParentLocator? ParentLocator { get; init; }

    public DiskType Type => Geometry.HasParent ? DiskType.Differencing : LeaveBlocksAllocated ? DiskType.Fixed : DiskType.Dynamic;
}
