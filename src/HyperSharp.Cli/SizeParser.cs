using System.Globalization;

namespace HyperSharp.Cli;

/// <summary>
/// Parses sizes such as 10GB, 512MiB, 4K, 1.5T or 1048576. Units count in powers of 1024 whether
/// written KB or KiB, as Hyper-V does (New-VHD -SizeBytes 10GB is 10 GiB).
/// </summary>
public static class SizeParser
{
    public const string Help = "a byte count with an optional unit: K, M, G, T, P (KB=KiB=1024 bytes, as Hyper-V counts; e.g. 10GB, 512MiB, 4K)";

    public static long Parse(string text, string what = "size")
    {
        if (TryParse(text, out long value, out string? error)) return value;
        throw new UsageException($"bad {what} '{text}': {error}");
    }

    public static bool TryParse(string text, out long value, out string? error)
    {
        value = 0;
        string s = text.Trim();
        int unitStart = s.Length;
        while (unitStart > 0 && char.IsLetter(s[unitStart - 1])) unitStart--;
        string number = s[..unitStart].Trim(), unit = s[unitStart..].ToUpperInvariant();
        if (unit.EndsWith('B')) unit = unit[..^1];
        if (unit.EndsWith('I')) unit = unit[..^1];
        int shift = unit switch { "" => 0, "K" => 10, "M" => 20, "G" => 30, "T" => 40, "P" => 50, _ => -1 };
        if (shift < 0) { error = $"unknown unit '{s[unitStart..]}'; expected {Help}"; return false; }
        if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal amount))
        { error = $"expected {Help}"; return false; }
        decimal bytes;
        try { bytes = amount * (1L << shift); }
        catch (OverflowException) { error = "too large"; return false; }
        if (bytes > long.MaxValue) { error = "too large"; return false; }
        if (bytes != decimal.Truncate(bytes)) { error = "not a whole number of bytes"; return false; }
        value = (long)bytes;
        error = null;
        return true;
    }

    /// <summary>Formats a byte count for people: 10 GiB, 512 MiB, 4 KiB, 1000 B.</summary>
    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double v = bytes; int u = 0;
        while (Math.Abs(v) >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return u == 0 ? $"{bytes} B" : v == Math.Floor(v) ? $"{v:0} {units[u]}" : $"{v:0.##} {units[u]}";
    }
}
