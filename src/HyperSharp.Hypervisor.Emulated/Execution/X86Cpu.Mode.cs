using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Execution;

public sealed unsafe partial class X86Cpu
{

    // Derived from the registers above by UpdateMode; read on hot paths.
    /// <summary>Code size of CS: 16, 32 or 64 (decode mode).</summary>
    internal int _bitness;
    internal int _cpl;
    /// <summary>Linear addresses wrap at 4 GiB outside 64-bit mode.</summary>
    internal ulong _linMask;
    /// <summary>Width of the stack pointer: SS.B outside 64-bit mode.</summary>
    internal ulong _stackMask;
    internal bool _longMode, _paging, _protected;

    public const ulong Cr0PE = 1, Cr0MP = 2, Cr0EM = 4, Cr0TS = 8, Cr0ET = 0x10, Cr0NE = 0x20, Cr0WP = 0x10000,
        Cr0AM = 0x40000, Cr0NW = 0x20000000, Cr0CD = 0x40000000, Cr0PG = 0x80000000;
    public const ulong Cr4VME = 1, Cr4PVI = 2, Cr4TSD = 4, Cr4DE = 8, Cr4PSE = 0x10, Cr4PAE = 0x20, Cr4MCE = 0x40,
        Cr4PGE = 0x80, Cr4PCE = 0x100, Cr4OSFXSR = 0x200, Cr4OSXMMEXCPT = 0x400, Cr4FSGSBASE = 0x10000;
    public const ulong EferSCE = 1, EferLME = 0x100, EferLMA = 0x400, EferNXE = 0x800;

    /// <summary>CR4 bits this CPU model implements; setting others is #GP.</summary>
    internal const ulong Cr4Supported = Cr4VME | Cr4PVI | Cr4TSD | Cr4DE | Cr4PSE | Cr4PAE | Cr4MCE | Cr4PGE | Cr4PCE
        | Cr4OSFXSR | Cr4OSXMMEXCPT | Cr4FSGSBASE;
    internal const ulong EferSupported = EferSCE | EferLME | EferLMA | EferNXE;

    public ulong Cr0 => Arch.Cr0;
    public ulong Cr2 { get => Arch.Cr2; set => Arch.Cr2 = value; }
    public ulong Cr3 => Arch.Cr3;
    public ulong Cr4 => Arch.Cr4;
    public ulong Efer => Arch.Efer;
    public int Cpl => _cpl;
    public int Bitness => _bitness;

    /// <summary>
    /// The low bits of the access key for accesses at <paramref name="cpl"/>: 1 supervisor, 2 user, 3 user with
    /// alignment checking (CR0.AM, RFLAGS.AC and CPL 3). Key 3 never enters the data TLBs, so every access takes
    /// the slow path, which raises #AC for a misaligned one; the fast paths stay free of the check.
    /// </summary>
    internal ulong PrivilegeKey(int cpl) => cpl != 3 ? 1UL : (Arch.Cr0 & Cr0AM) != 0 && (Flags.Rflags & Rf.AC) != 0 ? 3UL : 2UL;

    /// <summary>Recomputes the derived mode fields after CS, SS, CR0, CR4 or EFER changed.</summary>
    internal void UpdateMode()
    {
        _protected = (Arch.Cr0 & Cr0PE) != 0;
        _paging = (Arch.Cr0 & Cr0PG) != 0 && _protected;
        _longMode = (Arch.Efer & EferLMA) != 0;
        ref var cs = ref Arch.Seg[(int)Seg.Cs];
        bool vm86 = (Flags.Rflags & Rf.VM) != 0;
        if (_longMode && cs.Long) _bitness = 64;
        else if (_protected && !vm86 && cs.DefaultBig) _bitness = 32;
        else _bitness = 16;
        // CPL is SS.DPL (as VMX defines it): unlike CS.RPL it is right in the instant after CR0.PE is set,
        // when CS still holds a real-mode selector, and every privilege change loads SS.
        _cpl = !_protected ? 0 : vm86 ? 3 : Arch.Seg[(int)Seg.Ss].Dpl;
        _tlb.AccessKey = (_tlb.AccessKey & ~3UL) | PrivilegeKey(_cpl);
        _linMask = _bitness == 64 ? ulong.MaxValue : 0xFFFFFFFF;
        _stackMask = _bitness == 64 ? ulong.MaxValue : Arch.Seg[(int)Seg.Ss].DefaultBig ? 0xFFFFFFFF : 0xFFFF;
        for (int i = 0; i < 6; i++)
            SegBase(i) = _bitness == 64 && i < (int)Seg.Fs ? 0 : Arch.Seg[i].Base;
    }

    /// <summary>MOV CR0: validates, applies (entering/leaving long mode via EFER.LME), flushes what changed.</summary>
    internal void WriteCr0(ulong v)
    {
        if ((v >> 32) != 0) throw Fault(Vec.GP, 0);
        v |= Cr0ET;
        if ((v & Cr0PG) != 0 && (v & Cr0PE) == 0) throw Fault(Vec.GP, 0);
        if ((v & Cr0NW) != 0 && (v & Cr0CD) == 0) throw Fault(Vec.GP, 0);
        bool pgOn = (v & Cr0PG) != 0 && (Arch.Cr0 & Cr0PG) == 0;
        bool pgOff = (v & Cr0PG) == 0 && (Arch.Cr0 & Cr0PG) != 0;
        if (pgOn && (Arch.Efer & EferLME) != 0)
        {
            if ((Arch.Cr4 & Cr4PAE) == 0) throw Fault(Vec.GP, 0);
            Arch.Efer |= EferLMA;
        }
        if (pgOff && _longMode)
        {
            if (_bitness == 64) throw Fault(Vec.GP, 0);
            Arch.Efer &= ~EferLMA;
        }
        Arch.Cr0 = v;
        UpdateMode();
        FlushTlb();
    }

    internal void WriteCr3(ulong v)
    {
        if (_longMode && (v >> PageWalker.MaxPhysAddrBits) != 0) throw Fault(Vec.GP, 0);
        Arch.Cr3 = v;
        FlushTlb();
    }

    internal void WriteCr4(ulong v)
    {
        if ((v & ~Cr4Supported) != 0) throw Fault(Vec.GP, 0);
        if (_longMode && (v & Cr4PAE) == 0) throw Fault(Vec.GP, 0);
        Arch.Cr4 = v;
        FlushTlb();
    }

    internal void WriteEfer(ulong v)
    {
        if ((v & ~EferSupported) != 0) throw Fault(Vec.GP, 0);
        // LMA is read-only; LME may not change while paging is on.
        v = (v & ~EferLMA) | (Arch.Efer & EferLMA);
        if (_paging && ((v ^ Arch.Efer) & EferLME) != 0) throw Fault(Vec.GP, 0);
        Arch.Efer = v;
        UpdateMode();
        FlushTlb();
    }
}
