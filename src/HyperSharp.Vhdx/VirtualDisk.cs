using System.Buffers.Binary;
using HyperSharp.Vhdx.Vhd;
using HyperSharp.Vhdx.Vhdx;

namespace HyperSharp.Vhdx;

/// <summary>
/// Opens or creates a disk of any supported format. The one place that decides what an existing file
/// is: the format comes from its name (.vhdx/.avhdx, .vhd/.avhd, anything else raw) or from the caller,
/// never from its contents, and a file that claims VHDX or VHD must carry that format's signature. A raw
/// file is never probed: a guest that writes a VHDX header into its raw disk must not turn it into a VHDX
/// (with a parent locator naming a host file) at the next open.
/// </summary>
public static class VirtualDisk
{
    private const ulong VhdxSignature = 0x656C6966_78646876; // "vhdxfile" at offset 0 (MS-VHDX 2.2.1)

    /// <summary>
    /// What the VMM, the CLI, the cmdlets and the host's validation call before using a path as an image:
    /// checks what the path names (a regular file; a block device only with an explicit raw
    /// <paramref name="format"/>), resolves the format (the explicit one, else the extension's) and checks
    /// that format's signature. Returns the format; throws <see cref="ImageKindException"/> or
    /// <see cref="ImageFormatException"/> naming the file and what is wrong. Structures beyond the signature
    /// are checked by <see cref="Open"/>.
    /// </summary>
    public static DiskFormat Identify(string path, DiskFormat? format = null)
    {
        var resolved = format ?? FormatFromExtension(path);
        using var handle = ImageFile.Open(path, FileAccess.Read, FileShare.ReadWrite, blockDeviceAllowed: format == DiskFormat.Raw, Describe(resolved));
        string full = Path.GetFullPath(path);
        long length = RandomAccess.GetLength(handle);
        Span<byte> buffer = stackalloc byte[8];
        switch (resolved)
        {
            case DiskFormat.Vhdx:
                if (length < 8 || RandomAccess.Read(handle, buffer, 0) != 8 || BinaryPrimitives.ReadUInt64LittleEndian(buffer) != VhdxSignature)
                    throw ImageFormatException.Missing(full, resolved, format is not null, length, "the VHDX file type signature 'vhdxfile'", OtherSignature(handle, length, resolved));
                break;
            case DiskFormat.Vhd:
                if (!HasVhdFooter(handle, length, buffer))
                    throw ImageFormatException.Missing(full, resolved, format is not null, length, "the VHD footer cookie 'conectix' (the last 512 bytes of the file)", OtherSignature(handle, length, resolved));
                break;
        }
        return resolved;
    }

    /// <summary>Opens a disk. The format is <paramref name="format"/> when given, else the file extension's (see <see cref="Identify"/>).</summary>
    public static IVirtualDisk Open(string path, DiskOpenOptions? options = null, DiskFormat? format = null) =>
        OpenInChain(path, options ?? DiskOpenOptions.Default, new HashSet<string>(StringComparer.Ordinal), format);

    internal static IVirtualDisk OpenInChain(string path, DiskOpenOptions options, HashSet<string> chain, DiskFormat? format = null)
    {
        var resolved = Identify(path, format);
        return resolved switch
        {
            DiskFormat.Vhdx => VhdxDisk.OpenForChain(path, options, chain),
            DiskFormat.Vhd => VhdDisk.Open(path, options),
            _ => RawDisk.Open(path, options, blockDeviceAllowed: format == DiskFormat.Raw),
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

    internal static string Describe(DiskFormat format) => format switch
    {
        DiskFormat.Vhdx => "VHDX image",
        DiskFormat.Vhd => "VHD image",
        _ => "raw disk image",
    };

    private static bool HasVhdFooter(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long length, Span<byte> buffer) =>
        length >= VhdFooter.Size && RandomAccess.Read(handle, buffer, length - VhdFooter.Size) == 8 && buffer.SequenceEqual("conectix"u8);

    /// <summary>The other format's signature when the file carries it (the likely mix-up), else null.</summary>
    private static DiskFormat? OtherSignature(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long length, DiskFormat expected)
    {
        Span<byte> buffer = stackalloc byte[8];
        if (expected != DiskFormat.Vhdx && length >= 8 && RandomAccess.Read(handle, buffer, 0) == 8 && BinaryPrimitives.ReadUInt64LittleEndian(buffer) == VhdxSignature)
            return DiskFormat.Vhdx;
        if (expected != DiskFormat.Vhd && HasVhdFooter(handle, length, buffer)) return DiskFormat.Vhd;
        return null;
    }
}

/// <summary>
/// A file that does not carry the signature of the format its name (or the caller) says it has. A corrupt image
/// as far as that format goes: <see cref="CorruptImageException.Structure"/> names the signature's structure.
/// </summary>
public sealed class ImageFormatException : CorruptImageException
{
    private ImageFormatException(string path, DiskFormat expected, string structure, long fileOffset, string problem) : base(path, structure, fileOffset, problem)
    {
        Path = path;
        Expected = expected;
    }

    /// <summary>The file refused.</summary>
    public string Path { get; }

    /// <summary>The format the file was expected to have.</summary>
    public DiskFormat Expected { get; }

    internal static ImageFormatException Missing(string path, DiskFormat expected, bool explicitFormat, long length, string signature, DiskFormat? actual)
    {
        string why = explicitFormat ? $"the format was given as {expected.ToString().ToLowerInvariant()}" : $"its name says {expected.ToString().ToUpperInvariant()}";
        string content = length == 0 ? "the file is empty"
            : actual is { } other ? $"it carries the {other.ToString().ToUpperInvariant()} signature instead"
            : $"{length} bytes without it: not an image of that format, or one whose signature was overwritten";
        string advice = actual is { } a
            ? $"name it {(a == DiskFormat.Vhdx ? ".vhdx" : ".vhd")} or give that format"
            : "a raw disk is opened as raw only by its name (not .vhdx/.avhdx/.vhd/.avhd) or an explicit raw format (--format raw)";
        (string structure, long offset) = expected == DiskFormat.Vhdx ? ("file type identifier", 0L) : ("VHD footer", Math.Max(0, length - VhdFooter.Size));
        return new ImageFormatException(path, expected, structure, offset,
            $"not a {VirtualDisk.Describe(expected)}: {why}, but {signature} is missing ({content}); {advice}");
    }
}
