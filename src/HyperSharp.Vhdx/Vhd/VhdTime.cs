namespace HyperSharp.Vhdx.Vhd;

/// <summary>VHD time stamps: seconds since 2000-01-01 00:00:00 UTC, stored as 32 bits.</summary>
internal static class VhdTime
{
    private static readonly DateTime Epoch = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public static uint FromDateTime(DateTime utc)
    {
        double seconds = (utc.ToUniversalTime() - Epoch).TotalSeconds;
        return seconds <= 0 ? 0 : seconds >= uint.MaxValue ? uint.MaxValue : (uint)seconds;
    }

    public static uint Now => FromDateTime(DateTime.UtcNow);

    public static uint OfFile(string path) => FromDateTime(File.GetLastWriteTimeUtc(path));
}
