namespace HyperSharp.Vhdx.Vhd;

/// <summary>The VHD checksum: one's complement of the byte sum of a structure, its checksum field counted as zero.</summary>
internal static class VhdChecksum
{
    public static uint Compute(ReadOnlySpan<byte> structure, int checksumOffset)
    {
        uint sum = 0;
        for (int i = 0; i < structure.Length; i++)
        {
            // The checksum field itself is skipped, so a stored structure can be verified in place.
            if (i >= checksumOffset && i < checksumOffset + 4) continue;
            sum += structure[i];
        }
        return ~sum;
    }
}
