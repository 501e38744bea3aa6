namespace HyperSharp.Vhdx.Operations;

/// <summary>Finds the runs of a buffer that hold anything but zeros, so copies can skip the zero runs.</summary>
internal static class ZeroScan
{
    /// <summary>True when every byte is zero (vectorized).</summary>
    public static bool IsZero(ReadOnlySpan<byte> data) => data.IndexOfAnyExcept((byte)0) < 0;

    /// <summary>
    /// The next run at or after <paramref name="start"/> made of <paramref name="granule"/>-sized
    /// pieces that are not all zero, coalesced; (-1, 0) when only zeros remain. The granule keeps
    /// writes sector-aligned and big enough that skipping a zero piece is worth a separate write.
    /// </summary>
    public static (int Start, int Length) NextDataRun(ReadOnlySpan<byte> data, int start, int granule)
    {
        int pos = start;
        while (pos < data.Length && IsZero(data.Slice(pos, Math.Min(granule, data.Length - pos)))) pos += granule;
        if (pos >= data.Length) return (-1, 0);
        int end = pos + granule;
        while (end < data.Length && !IsZero(data.Slice(end, Math.Min(granule, data.Length - end)))) end += granule;
        return (pos, Math.Min(end, data.Length) - pos);
    }
}
