namespace HyperSharp.Machine.Firmware;

/// <summary>
/// A system firmware image as a PC maps it: the whole image ends at 4 GiB (the processor's reset vector is its last 16
/// bytes), and its last 128 KiB also appear at 0xE0000-0xFFFFF, where real-mode code runs.
/// </summary>
public sealed class FirmwareImage
{
    public const ulong LowAliasStart = 0xE_0000, LowAliasSize = 0x2_0000;
    public const ulong FourGiB = 0x1_0000_0000;
    private const long MaxSize = 16L << 20; // the flash window below 4 GiB that guests' memory maps leave free

    public byte[] Data { get; }

    /// <summary>Guest-physical address of the image's first byte (it ends at 4 GiB).</summary>
    public ulong Address => FourGiB - (ulong)Data.Length;

    /// <summary>The bytes that appear below 1 MiB.</summary>
    public ReadOnlySpan<byte> LowAlias => Data.AsSpan(Data.Length - (int)LowAliasSize);

    private FirmwareImage(byte[] data) => Data = data;

    /// <summary>Reads an image; one that is missing, not a multiple of 64 KiB, smaller than 128 KiB or larger than 16 MiB is refused naming the file.</summary>
    public static FirmwareImage Read(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FirmwareImageException(path, "does not exist (Generation 1 uses Debian's seabios package: /usr/share/seabios/bios.bin)");
        if (info.Length < (long)LowAliasSize || info.Length > MaxSize || info.Length % 0x1_0000 != 0)
            throw new FirmwareImageException(path, $"is {info.Length} bytes: a firmware image is 128 KiB to 16 MiB in whole 64 KiB blocks");
        return new FirmwareImage(File.ReadAllBytes(path));
    }
}

/// <summary>A firmware image that cannot be used, naming the file and why.</summary>
public sealed class FirmwareImageException(string path, string reason) : Exception($"firmware image {path} {reason}")
{
    public string Path { get; } = path;
}
