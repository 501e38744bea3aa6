using Iced.Intel;

namespace HyperSharp.Machine.Tests;

/// <summary>Assembles 64-bit code with Iced into a minimal ELF "vmlinux" for loader and VM tests.</summary>
public static class TinyElf
{
    public const ulong LoadAddress = 0x100000;

    public static byte[] Assemble(Action<Assembler> program)
    {
        var a = new Assembler(64);
        program(a);
        using var ms = new MemoryStream();
        a.Assemble(new StreamCodeWriter(ms), LoadAddress);
        return HyperSharp.Machine.Boot.ElfBuilder.Wrap(ms.ToArray(), LoadAddress);
    }
}
