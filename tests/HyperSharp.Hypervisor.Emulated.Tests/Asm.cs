using Iced.Intel;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>Assembles a snippet for a given mode (16, 32 or 64 bits) at the address it will run from.</summary>
internal static class Asm
{
    public static byte[] At(int bits, ulong address, Action<Assembler> body)
    {
        var a = new Assembler(bits);
        body(a);
        var ms = new MemoryStream();
        a.Assemble(new StreamCodeWriter(ms), address);
        return ms.ToArray();
    }
}
