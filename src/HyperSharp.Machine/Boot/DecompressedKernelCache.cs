using System.Security.Cryptography;

namespace HyperSharp.Machine.Boot;

/// <summary>
/// Keeps the decompressed form of bzImages (setup header + vmlinux ELF) under the user's cache
/// directory, named by the SHA-256 of the bzImage, so later boots of the same kernel skip the
/// decompression. A missing, unwritable or damaged cache only costs the decompression again.
/// </summary>
internal static class DecompressedKernelCache
{
    private static string Directory =>
        Environment.GetEnvironmentVariable("HYPERSHARP_CACHE") is { Length: > 0 } c ? Path.Combine(c, "kernels")
        : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "hypersharp", "kernels");

    public static KernelImage Load(byte[] file, Func<byte[], KernelImage> parse)
    {
        if (file.Length < 0x270 || file.AsSpan(0, 4).SequenceEqual(Elf64Kernel.ElfMagic)) return parse(file);
        string key = Convert.ToHexString(SHA256.HashData(file))[..32].ToLowerInvariant();
        string elfPath = Path.Combine(Directory, key + ".elf"), headerPath = Path.Combine(Directory, key + ".setup");
        try
        {
            if (File.Exists(elfPath) && File.Exists(headerPath))
            {
                var meta = File.ReadAllBytes(headerPath);
                var kernel = Elf64Kernel.Load(File.ReadAllBytes(elfPath), meta[3..], (KernelCompression)meta[0], BitConverter.ToUInt16(meta, 1));
                return kernel;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or KernelImageException or ArgumentException) { }
        var unpacked = KernelImage.Unpack(file);
        if (unpacked is not { } u) return parse(file);
        var image = Elf64Kernel.Load(u.Vmlinux, u.SetupHeader, u.Method, u.Protocol);
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            string temp = elfPath + "." + Environment.ProcessId + ".partial";
            File.WriteAllBytes(temp, u.Vmlinux);
            File.WriteAllBytes(headerPath, [(byte)u.Method, .. BitConverter.GetBytes(u.Protocol), .. u.SetupHeader]);
            File.Move(temp, elfPath, overwrite: true); // the ELF appears last and whole, so a reader never sees half of it
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return image;
    }
}
