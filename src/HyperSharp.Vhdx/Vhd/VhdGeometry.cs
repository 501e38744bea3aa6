namespace HyperSharp.Vhdx.Vhd;

/// <summary>CHS geometry of a VHD, computed from the size with the algorithm the VHD specification gives.</summary>
internal readonly record struct VhdGeometry(ushort Cylinders, byte Heads, byte SectorsPerTrack)
{
    /// <summary>The largest geometry; readers that size disks by CHS fall back to the footer's size for it.</summary>
    public static VhdGeometry Max => new(65535, 16, 255);

    public long Sectors => (long)Cylinders * Heads * SectorsPerTrack;

    public static VhdGeometry FromCapacity(long capacityBytes)
    {
        long totalSectors = capacityBytes / 512;
        if (totalSectors > 65535L * 16 * 255) totalSectors = 65535L * 16 * 255;

        long sectorsPerTrack, heads, cylinderTimesHeads;
        if (totalSectors >= 65535L * 16 * 63)
        {
            sectorsPerTrack = 255;
            heads = 16;
            cylinderTimesHeads = totalSectors / sectorsPerTrack;
        }
        else
        {
            sectorsPerTrack = 17;
            cylinderTimesHeads = totalSectors / sectorsPerTrack;
            heads = (cylinderTimesHeads + 1023) / 1024;
            if (heads < 4) heads = 4;
            if (cylinderTimesHeads >= heads * 1024 || heads > 16)
            {
                sectorsPerTrack = 31;
                heads = 16;
                cylinderTimesHeads = totalSectors / sectorsPerTrack;
            }
            if (cylinderTimesHeads >= heads * 1024)
            {
                sectorsPerTrack = 63;
                heads = 16;
                cylinderTimesHeads = totalSectors / sectorsPerTrack;
            }
        }
        return new VhdGeometry((ushort)(cylinderTimesHeads / heads), (byte)heads, (byte)sectorsPerTrack);
    }
}
