using System.Buffers.Binary;
using HyperSharp.Vhdx.Vhd;
using HyperSharp.Vhdx.Vhdx;

namespace HyperSharp.Vhdx;

/// <summary>Opens or creates a disk of any supported format, telling formats apart by their signatures.</summary>
public static class VirtualDisk
{
    /// <summary>Detects the format of an existing file: VHDX by its identifier, VHD by its footer, raw otherwise.</summary>
    public static DiskFormat DetectFormat(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        long length = RandomAccess.GetLength(handle);
        Span<byte> buffer = stackalloc byte[8];
        if (length >= 8 && RandomAccess.Read(handle, buffer, 0) == 8 && BinaryPrimitives.ReadUInt64LittleEndian(buffer) == 0x656C6966_78646876)
            return DiskFormat.Vhdx;
        if (length >= 512 && RandomAccess.Read(handle, buffer, length - 512) == 8 && buffer.SequenceEqual("conectix"u8))
            return DiskFormat.Vhd;
        if (length >= 511 && RandomAccess.Read(handle, buffer, length - 511) == 8 && buffer.SequenceEqual("conectix"u8))
            return DiskFormat.Vhd; // some old tools wrote a 511-byte footer
        return DiskFormat.Raw;
    }

    /// <summary>Opens a disk; <paramref name="format"/> overrides detection (needed for raw files).</summary>
    public static IVirtualDisk Open(string path, DiskOpenOptions? options = null, DiskFormat? format = null) =>
        OpenInChain(path, options ?? DiskOpenOptions.Default, new HashSet<string>(StringComparer.Ordinal), format);

    internal static IVirtualDisk OpenInChain(string path, DiskOpenOptions options, HashSet<string> chain, DiskFormat? format = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such disk image", path);
        return (format ?? DetectFormat(path)) switch
        {
            DiskFormat.Vhdx => VhdxDisk.OpenForChain(path, options, chain),
            DiskFormat.Vhd => VhdDisk.Open(path, options),
            _ => RawDisk.Open(path, options),
        };
    }

    /// <summary>Creates a disk as the options say and returns it open for writing.</summary>
    public static IVirtualDisk Create(string path, DiskCreateOptions options) => options.Format switch
    {
        DiskFormat.Vhdx => VhdxDisk.Create(path, options),
        DiskFormat.Vhd => VhdDisk.Create(path, options),
        _ => RawDisk.Create(path, options.Capacity, options.Type == DiskType.Fixed, options.Overwrite),
    };

    /// <summary>The format a file name's extension implies (.vhdx, .avhdx, .vhd, .avhd; anything else raw).</summary>
    public static DiskFormat FormatFromExtension(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".vhdx" or ".avhdx" => DiskFormat.Vhdx,
        ".vhd" or ".avhd" => DiskFormat.Vhd,
        _ => DiskFormat.Raw,
    };
}
