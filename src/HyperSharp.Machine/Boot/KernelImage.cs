using System.Buffers.Binary;

namespace HyperSharp.Machine.Boot;

/// <summary>A piece of the kernel to place in guest memory: file bytes at a physical address, then zeros up to <see cref="MemorySize"/>.</summary>
public sealed record KernelSegment(ulong PhysicalAddress, byte[] Data, ulong MemorySize);

/// <summary>
/// A kernel ready to load: its 64-bit ELF segments (decompressed on the host when it came as a
/// bzImage), the physical entry point of startup_64, and the bzImage's setup header if it had one.
/// </summary>
public sealed record KernelImage(IReadOnlyList<KernelSegment> Segments, ulong EntryPoint, byte[]? SetupHeader, KernelCompression Compression, ushort BootProtocol)
{
    /// <summary>
    /// Reads a bzImage as distributions ship it (decompressing its payload) or an ELF vmlinux. The
    /// decompressed kernel is kept in a cache keyed by the file's hash, because xz decompression of a
    /// distribution kernel costs about two seconds of every boot.
    /// </summary>
    public static KernelImage Read(string path)
    {
        byte[] file;
        try { file = File.ReadAllBytes(path); }
        catch (IOException e) { throw new KernelImageException($"{path}: cannot read the kernel: {e.Message}"); }
        try { return DecompressedKernelCache.Load(file, Parse); }
        catch (KernelImageException e) { throw new KernelImageException($"{path}: {e.Message}"); }
    }

    public static KernelImage Parse(byte[] file)
    {
        if (file.Length >= 4 && file.AsSpan(0, 4).SequenceEqual(Elf64Kernel.ElfMagic)) return Elf64Kernel.Load(file, null, KernelCompression.None, 0);
        return ReadBzImage(file);
    }

    /// <summary>The setup header and the decompressed vmlinux of a bzImage (null for an ELF file).</summary>
    internal static (byte[] SetupHeader, byte[] Vmlinux, KernelCompression Method, ushort Protocol)? Unpack(byte[] file)
    {
        if (file.Length >= 4 && file.AsSpan(0, 4).SequenceEqual(Elf64Kernel.ElfMagic)) return null;
        var image = ReadBzImage(file, out byte[] vmlinux);
        return (image.SetupHeader!, vmlinux, image.Compression, image.BootProtocol);
    }

    private static KernelImage ReadBzImage(byte[] file) => ReadBzImage(file, out _);

    private static KernelImage ReadBzImage(byte[] file, out byte[] vmlinux)
    {
        if (file.Length < 0x270 || BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(0x202)) != 0x53726448) // "HdrS"
            throw new KernelImageException("not a bzImage (no 'HdrS' setup header at 0x202) and not an ELF vmlinux");
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(0x206));
        if (version < 0x020C)
            throw new KernelImageException($"boot protocol {version >> 8}.{version & 0xFF} is too old: 2.12 or later (Linux 3.8+) is needed for a 64-bit entry");
        byte xloadflags = file[0x236];
        if ((xloadflags & 1) == 0) throw new KernelImageException("the kernel has no 64-bit entry point (xloadflags XLF_KERNEL_64 clear): a 32-bit kernel?");
        int setupSects = file[0x1F1] == 0 ? 4 : file[0x1F1];
        long protectedModeStart = (setupSects + 1) * 512L;
        uint payloadOffset = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(0x248));
        uint payloadLength = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(0x24C));
        long start = protectedModeStart + payloadOffset;
        if (payloadLength == 0 || start + payloadLength > file.Length)
            throw new KernelImageException($"the payload at 0x{start:X} of {payloadLength} bytes lies outside the {file.Length}-byte file");
        var payload = file.AsSpan((int)start, (int)payloadLength);
        var method = KernelDecompressor.Detect(payload);
        vmlinux = method == KernelCompression.None ? payload.ToArray() : KernelDecompressor.Decompress(payload, method);
        int headerEnd = 0x202 + file[0x201];
        var setupHeader = file.AsSpan(0x1F1, headerEnd - 0x1F1).ToArray();
        return Elf64Kernel.Load(vmlinux, setupHeader, method, version);
    }
}
