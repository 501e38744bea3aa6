using System.Buffers.Binary;
using HyperSharp.Machine.Boot;

namespace HyperSharp.HostBench;

/// <summary>The small guest both VMMs run: writes '!' to COM1 with its first instructions, then halts with interrupts off.</summary>
public static class Guests
{
    // mov dx, 0x3F8; mov al, '!'; out dx, al; cli; hlt; jmp back to hlt — the same bytes in 32- and 64-bit mode.
    private static readonly byte[] Code = [0x66, 0xBA, 0xF8, 0x03, 0xB0, 0x21, 0xEE, 0xFA, 0xF4, 0xEB, 0xFD];
    private const uint Load = 0x100000;

    /// <summary>For HyperSharp: an ELF image entered in long mode, as the Linux loader enters a vmlinux.</summary>
    public static byte[] Elf() => ElfBuilder.Wrap(Code, Load);

    /// <summary>
    /// For QEMU: a Multiboot image (QEMU's -kernel takes those; it enters them in 32-bit protected mode): the
    /// header with the address fields, so the file is loaded flat at 1 MiB, then the code.
    /// </summary>
    public static byte[] Multiboot()
    {
        const uint magic = 0x1BADB002, flags = 1u << 16, headerSize = 32;
        var image = new byte[headerSize + Code.Length];
        uint[] header = [magic, flags, unchecked(0u - magic - flags), Load, Load, 0, 0, Load + headerSize];
        for (int i = 0; i < header.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(i * 4), header[i]);
        Code.CopyTo(image, headerSize);
        return image;
    }
}
