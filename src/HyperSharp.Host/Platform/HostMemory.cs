using System.Globalization;

namespace HyperSharp.Host.Platform;

/// <summary>The host's memory, from /proc/meminfo: Get-VMHost's capacity, and what Dynamic Memory may hand out.</summary>
internal static class HostMemory
{
    public static long TotalBytes() => Read("MemTotal:");

    /// <summary>Memory the host could give to new work without swapping (MemAvailable); 0 when it cannot be read.</summary>
    public static long AvailableBytes() => Read("MemAvailable:");

    private static long Read(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }
}
