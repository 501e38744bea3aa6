namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>RFLAGS bit masks.</summary>
internal static class Rf
{
    public const ulong CF = 1, Fixed1 = 2, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200,
        DF = 0x400, OF = 0x800, IOPL = 0x3000, NT = 0x4000, RF = 0x10000, VM = 0x20000, AC = 0x40000,
        VIF = 0x80000, VIP = 0x100000, ID = 0x200000;
    public const ulong Status = CF | PF | AF | ZF | SF | OF;
    /// <summary>Bits software can ever hold set (the rest read as 0, bit 1 as 1).</summary>
    public const ulong Writable = Status | TF | IF | DF | IOPL | NT | RF | VM | AC | VIF | VIP | ID;
}
