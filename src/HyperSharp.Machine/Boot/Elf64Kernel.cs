using System.Buffers.Binary;

namespace HyperSharp.Machine.Boot;

/// <summary>Reads the loadable segments and entry point of a 64-bit x86 ELF kernel (vmlinux), checking every bound.</summary>
internal static class Elf64Kernel
{
    private const uint PT_LOAD = 1;

    /// <summary>0x7F 'E' 'L' 'F' (a "\x7F..." string literal would swallow the 'E' as a hex digit).</summary>
    public static ReadOnlySpan<byte> ElfMagic => [0x7F, 0x45, 0x4C, 0x46];
    private const ulong MaxKernelAddress = 1UL << 40;

    public static KernelImage Load(byte[] elf, byte[]? setupHeader, KernelCompression compression, ushort protocol)
    {
        if (elf.Length < 64 || !elf.AsSpan(0, 4).SequenceEqual(ElfMagic)) throw new KernelImageException("the kernel is not an ELF file");
        if (elf[4] != 2 || elf[5] != 1) throw new KernelImageException("the kernel ELF is not 64-bit little-endian");
        if (BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(18)) != 62) throw new KernelImageException("the kernel ELF is not for x86-64");
        ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(24));
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(32));
        ushort phentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(54));
        ushort phnum = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(56));
        if (phentsize < 56 || phoff + (ulong)phentsize * phnum > (ulong)elf.Length)
            throw new KernelImageException($"the ELF program headers (offset {phoff}, {phnum} x {phentsize} bytes) lie outside the file");
        var segments = new List<KernelSegment>();
        for (int i = 0; i < phnum; i++)
        {
            var ph = elf.AsSpan((int)(phoff + (ulong)(i * phentsize)), phentsize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != PT_LOAD) continue;
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]);
            ulong paddr = BinaryPrimitives.ReadUInt64LittleEndian(ph[24..]);
            ulong filesz = BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]);
            ulong memsz = BinaryPrimitives.ReadUInt64LittleEndian(ph[40..]);
            if (offset + filesz > (ulong)elf.Length || filesz > memsz || paddr + memsz > MaxKernelAddress)
                throw new KernelImageException($"ELF segment {i} (file 0x{offset:X}+{filesz}, memory 0x{paddr:X}+{memsz}) is out of bounds");
            segments.Add(new KernelSegment(paddr, elf.AsSpan((int)offset, (int)filesz).ToArray(), memsz));
        }
        if (segments.Count == 0) throw new KernelImageException("the kernel ELF has no loadable segment");
        // x86-64 vmlinux links its entry (startup_64) at a physical address; a virtual one means the
        // kernel must be relocated, which only its own decompressor does.
        if (!segments.Any(s => entry >= s.PhysicalAddress && entry < s.PhysicalAddress + s.MemorySize))
            throw new KernelImageException($"the ELF entry point 0x{entry:X} is not inside a loaded segment");
        return new KernelImage(segments, entry, setupHeader, compression, protocol);
    }
}
