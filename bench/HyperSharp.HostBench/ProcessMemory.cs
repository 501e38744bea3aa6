using System.Globalization;

namespace HyperSharp.HostBench;

/// <summary>What a VMM process costs the host beyond its guest's RAM.</summary>
public static class ProcessMemory
{
    /// <summary>
    /// Resident memory of the process minus the guest RAM it has touched: the resident part of the mapping of
    /// the guest's RAM size (both HyperSharp and QEMU map RAM below 4 GiB in one anonymous piece, which the
    /// kernel may merge with a small neighbour, hence up to 4 MiB more; the largest mapping is not it — QEMU's
    /// TCG code buffer and .NET's heap reservations are larger).
    /// </summary>
    public static (long ResidentBytes, long OverheadBytes) Measure(int pid, long guestRamBytes)
    {
        long total = 0, guest = 0, size = 0;
        foreach (string line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash && IsHex(line.AsSpan(0, dash)))
            {
                size = long.Parse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber) - long.Parse(line.AsSpan(0, dash), NumberStyles.HexNumber);
                continue;
            }
            if (!line.StartsWith("Rss:", StringComparison.Ordinal)) continue;
            long kib = long.Parse(line.AsSpan(4).Trim()[..^2].Trim(), CultureInfo.InvariantCulture);
            total += kib;
            if (size >= guestRamBytes && size <= guestRamBytes + (4 << 20)) guest = Math.Max(guest, kib);
        }
        return (total << 10, (total - guest) << 10);
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s) if (!char.IsAsciiHexDigit(c)) return false;
        return s.Length > 0;
    }
}
