namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// The arithmetic that ties virtual offsets to BAT indices: block size, chunk ratio (payload blocks
/// per sector-bitmap block) and the interleaving of payload and bitmap entries.
/// </summary>
internal sealed record VhdxGeometry(long VirtualSize, int BlockSize, int LogicalSectorSize, bool HasParent)
{
    public long ChunkRatio { get; } = VhdxFormat.SectorsPerBitmapBlock * LogicalSectorSize / BlockSize;

    public long PayloadBlocks => (VirtualSize + BlockSize - 1) / BlockSize;

    public long BitmapBlocks => (PayloadBlocks + ChunkRatio - 1) / ChunkRatio;

    /// <summary>Entries the BAT must hold for this size (MS-VHDX 2.5).</summary>
    public long TotalBatEntries => HasParent
        ? BitmapBlocks * (ChunkRatio + 1)
        : PayloadBlocks == 0 ? 0 : PayloadBlocks + (PayloadBlocks - 1) / ChunkRatio;

    public long BatBytes => TotalBatEntries * 8;

    public long PayloadIndex(long block) => block + block / ChunkRatio;

    public long BitmapIndex(long chunk) => chunk * (ChunkRatio + 1) + ChunkRatio;

    public int SectorsPerBlock => BlockSize / LogicalSectorSize;

    /// <summary>Checks the parameters a file or a create request gives; returns a message naming what is wrong, or null.</summary>
    public static string? Validate(long virtualSize, long blockSize, long logicalSector, long physicalSector)
    {
        if (blockSize < VhdxFormat.MinBlockSize || blockSize > VhdxFormat.MaxBlockSize || (blockSize & (blockSize - 1)) != 0)
            return $"block size {blockSize} must be a power of two from 1 MiB to 256 MiB";
        if (logicalSector is not (512 or 4096)) return $"logical sector size {logicalSector} must be 512 or 4096";
        if (physicalSector is not (512 or 4096)) return $"physical sector size {physicalSector} must be 512 or 4096";
        if (virtualSize <= 0 || virtualSize > VhdxFormat.MaxVirtualDiskSize)
            return $"virtual disk size {virtualSize} must be more than 0 and at most 64 TiB";
        if (virtualSize % logicalSector != 0) return $"virtual disk size {virtualSize} must be a multiple of the logical sector size {logicalSector}";
        return null;
    }
}
