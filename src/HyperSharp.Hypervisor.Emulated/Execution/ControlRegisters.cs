namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// CR0, CR3, CR4 and EFER: their bits, and the writes that validate a new value (#GP for a reserved bit or a forbidden
/// transition), enter or leave long mode (EFER.LMA follows CR0.PG while EFER.LME is set) and flush what the change
/// makes stale (the processor's mode, its TLBs).
/// </summary>
internal static class ControlRegisters
{
    public const ulong Cr0PE = 1, Cr0MP = 2, Cr0EM = 4, Cr0TS = 8, Cr0ET = 0x10, Cr0NE = 0x20, Cr0WP = 0x10000,
        Cr0AM = 0x40000, Cr0NW = 0x20000000, Cr0CD = 0x40000000, Cr0PG = 0x80000000;
    public const ulong Cr4VME = 1, Cr4PVI = 2, Cr4TSD = 4, Cr4DE = 8, Cr4PSE = 0x10, Cr4PAE = 0x20, Cr4MCE = 0x40,
        Cr4PGE = 0x80, Cr4PCE = 0x100, Cr4OSFXSR = 0x200, Cr4OSXMMEXCPT = 0x400, Cr4FSGSBASE = 0x10000;
    public const ulong EferSCE = 1, EferLME = 0x100, EferLMA = 0x400, EferNXE = 0x800;

    /// <summary>CR4 bits this CPU model implements; setting others is #GP.</summary>
    public const ulong Cr4Supported = Cr4VME | Cr4PVI | Cr4TSD | Cr4DE | Cr4PSE | Cr4PAE | Cr4MCE | Cr4PGE | Cr4PCE
        | Cr4OSFXSR | Cr4OSXMMEXCPT | Cr4FSGSBASE;
    public const ulong EferSupported = EferSCE | EferLME | EferLMA | EferNXE;

    /// <summary>MOV CR0: validates, applies (entering/leaving long mode via EFER.LME), flushes what changed.</summary>
    public static void WriteCr0(X86Cpu c, ulong v)
    {
        if ((v >> 32) != 0) throw c.Fault(Vec.GP, 0);
        v |= Cr0ET;
        if ((v & Cr0PG) != 0 && (v & Cr0PE) == 0) throw c.Fault(Vec.GP, 0);
        if ((v & Cr0NW) != 0 && (v & Cr0CD) == 0) throw c.Fault(Vec.GP, 0);
        bool pgOn = (v & Cr0PG) != 0 && (c.Arch.Cr0 & Cr0PG) == 0;
        bool pgOff = (v & Cr0PG) == 0 && (c.Arch.Cr0 & Cr0PG) != 0;
        if (pgOn && (c.Arch.Efer & EferLME) != 0)
        {
            if ((c.Arch.Cr4 & Cr4PAE) == 0) throw c.Fault(Vec.GP, 0);
            c.Arch.Efer |= EferLMA;
        }
        if (pgOff && c.Mode.LongMode)
        {
            if (c.Mode.Bitness == 64) throw c.Fault(Vec.GP, 0);
            c.Arch.Efer &= ~EferLMA;
        }
        c.Arch.Cr0 = v;
        c.UpdateMode();
        c.FlushTlb();
    }

    public static void WriteCr3(X86Cpu c, ulong v)
    {
        if (c.Mode.LongMode && (v >> PageWalker.MaxPhysAddrBits) != 0) throw c.Fault(Vec.GP, 0);
        c.Arch.Cr3 = v;
        c.FlushTlb();
    }

    public static void WriteCr4(X86Cpu c, ulong v)
    {
        if ((v & ~Cr4Supported) != 0) throw c.Fault(Vec.GP, 0);
        if (c.Mode.LongMode && (v & Cr4PAE) == 0) throw c.Fault(Vec.GP, 0);
        c.Arch.Cr4 = v;
        c.FlushTlb();
    }

    public static void WriteEfer(X86Cpu c, ulong v)
    {
        if ((v & ~EferSupported) != 0) throw c.Fault(Vec.GP, 0);
        // LMA is read-only; LME may not change while paging is on.
        v = (v & ~EferLMA) | (c.Arch.Efer & EferLMA);
        if (c.Mode.Paging && ((v ^ c.Arch.Efer) & EferLME) != 0) throw c.Fault(Vec.GP, 0);
        c.Arch.Efer = v;
        c.UpdateMode();
        c.FlushTlb();
    }
}
