using System.CommandLine;
using HyperSharp.Vhdx;

namespace HyperSharp.Cli.Vhd;

/// <summary>Options several `vhd` commands share, and the parsing of their values.</summary>
internal static class VhdOptions
{
    public static Option<string?> Format() => new Option<string?>("--format", "-f")
    {
        Description = "Image format: vhdx, vhd or raw (default: from the file extension; .vhdx/.avhdx, .vhd/.avhd, else raw)",
    }.AcceptOnlyFromAmong("vhdx", "vhd", "raw");

    /// <summary>The format of an existing image, when not its extension's (a block device opens only with raw).</summary>
    public static Option<string?> ImageFormat(string name = "--format") => new Option<string?>(name, name == "--format" ? ["-f"] : [])
    {
        Description = "The image's format when its name does not say it: vhdx, vhd or raw (default: .vhdx/.avhdx, .vhd/.avhd, else raw; " +
            "a file named as VHDX or VHD must carry that format's signature; a block device is opened only as raw, when this says raw)",
    }.AcceptOnlyFromAmong("vhdx", "vhd", "raw");

    public static Option<string?> Type(params string[] allowed) => new Option<string?>("--type", "-t")
    {
        Description = $"Image type: {string.Join(", ", allowed)}",
    }.AcceptOnlyFromAmong(allowed);

    public static Option<string?> BlockSize() => new("--block-size")
    {
        Description = "Block size, 1MB to 256MB (default 32MB for VHDX, 2MB for VHD and differencing VHDX)",
    };

    public static Option<int?> LogicalSector() => new Option<int?>("--logical-sector")
    {
        Description = "Logical sector size in bytes: 512 or 4096 (default 512; convert keeps the source's)",
    }.AcceptOnlyFromAmong("512", "4096");

    public static Option<int?> PhysicalSector() => new Option<int?>("--physical-sector")
    {
        Description = "Physical sector size in bytes: 512 or 4096 (default 4096 for VHDX)",
    }.AcceptOnlyFromAmong("512", "4096");

    public static Option<bool> Json() => new("--json") { Description = "Print JSON instead of text" };

    public static DiskFormat? ParseFormat(string? text) => text switch
    {
        null => null,
        "vhdx" => DiskFormat.Vhdx,
        "vhd" => DiskFormat.Vhd,
        "raw" => DiskFormat.Raw,
        _ => throw new UsageException($"unknown format '{text}' (vhdx, vhd or raw)"),
    };

    public static DiskType? ParseType(string? text) => text switch
    {
        null => null,
        "fixed" => DiskType.Fixed,
        "dynamic" => DiskType.Dynamic,
        "differencing" => DiskType.Differencing,
        _ => throw new UsageException($"unknown type '{text}' (fixed, dynamic or differencing)"),
    };

    /// <summary>Block size in bytes (0 = default), checked to fit an int.</summary>
    public static int ParseBlockSize(string? text)
    {
        if (text is null) return 0;
        long bytes = SizeParser.Parse(text, "block size");
        if (bytes <= 0 || bytes > int.MaxValue) throw new UsageException($"bad block size '{text}': expected 1MB to 256MB");
        return (int)bytes;
    }

    /// <summary>A non-negative byte offset or length with units.</summary>
    public static long ParseOffset(string text, string what)
    {
        long value = SizeParser.Parse(text, what);
        if (value < 0) throw new UsageException($"bad {what} '{text}': must not be negative");
        return value;
    }
}
