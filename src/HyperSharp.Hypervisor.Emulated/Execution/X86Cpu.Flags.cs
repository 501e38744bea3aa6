using System.Numerics;
using System.Runtime.CompilerServices;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>Kinds of deferred ("lazy") arithmetic-flag computation: see X86Cpu.Flags.cs.</summary>
internal static class FlagOp
{
    public const int None = 0;   // Arch.Rflags holds the status flags itself
    public const int Add = 1;
    public const int Adc = 2;    // ADC with carry-in 1 (carry-in 0 is recorded as Add)
    public const int Sub = 3;    // also CMP and NEG (as 0 - x)
    public const int Sbb = 4;    // SBB with borrow-in 1
    public const int Logic = 5;  // CF = OF = 0; AF (undefined) = 0
    public const int Inc = 6;    // like Add with src 1, CF kept in Arch.Rflags
    public const int Dec = 7;    // like Sub with src 1, CF kept in Arch.Rflags
    public const int Result = 8; // SF/ZF/PF from the result; CF, OF, AF stored in Arch.Rflags
}

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

public sealed unsafe partial class X86Cpu
{

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void SetFlags(int op, ulong dst, ulong src, ulong res, ulong sign)
    {
        Arch.FlagOp = op; Arch.FlagDst = dst; Arch.FlagSrc = src; Arch.FlagRes = res; Arch.FlagSign = sign;
    }

    /// <summary>INC/DEC: CF is kept, so the current CF moves into Arch.Rflags (cheaply, without computing the
    /// other flags, which the new lazy state supersedes) before recording the new operation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void KeepCarryFor(int op, ulong dst, ulong res, ulong sign)
    {
        bool cf = CF;
        Arch.Rflags = (Arch.Rflags & ~Rf.CF) | (cf ? Rf.CF : 0);
        Arch.FlagOp = op; Arch.FlagDst = dst; Arch.FlagSrc = 1; Arch.FlagRes = res; Arch.FlagSign = sign;
    }

    /// <summary>Records flags that were computed eagerly: SF/ZF/PF from <paramref name="res"/>, CF/OF/AF given.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void SetResultFlags(ulong res, ulong sign, bool cf, bool of, bool af = false)
    {
        Arch.Rflags = (Arch.Rflags & ~(Rf.CF | Rf.OF | Rf.AF)) | (cf ? Rf.CF : 0) | (of ? Rf.OF : 0) | (af ? Rf.AF : 0);
        Arch.FlagOp = FlagOp.Result; Arch.FlagRes = res; Arch.FlagSign = sign;
    }

    /// <summary>
    /// As <see cref="SetResultFlags"/>, but ZF reads 0 whatever <paramref name="res"/> is; SF and PF still come from it
    /// (undefined results that hardware computes that way: Intel's MUL/IMUL, BSF/BSR).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void SetResultFlagsNotZero(ulong res, ulong sign, bool cf, bool of)
        // Bit 8 is neither the sign bit of any operand size nor in the byte PF reads, and makes the recorded result nonzero.
        => SetResultFlags(res | 0x100, sign, cf, of);

    internal bool CF
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Arch.FlagOp switch
        {
            FlagOp.Add => Arch.FlagRes < Arch.FlagDst,
            FlagOp.Adc => Arch.FlagRes <= Arch.FlagDst,
            FlagOp.Sub => Arch.FlagDst < Arch.FlagSrc,
            FlagOp.Sbb => Arch.FlagDst <= Arch.FlagSrc,
            FlagOp.Logic => false,
            _ => (Arch.Rflags & Rf.CF) != 0,
        };
    }

    internal bool ZF
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Arch.FlagOp == FlagOp.None ? (Arch.Rflags & Rf.ZF) != 0 : Arch.FlagRes == 0;
    }

    internal bool SF
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Arch.FlagOp == FlagOp.None ? (Arch.Rflags & Rf.SF) != 0 : (Arch.FlagRes & Arch.FlagSign) != 0;
    }

    internal bool OF
    {
        get => Arch.FlagOp switch
        {
            FlagOp.Add or FlagOp.Adc or FlagOp.Inc => ((Arch.FlagDst ^ Arch.FlagRes) & (Arch.FlagSrc ^ Arch.FlagRes) & Arch.FlagSign) != 0,
            FlagOp.Sub or FlagOp.Sbb or FlagOp.Dec => ((Arch.FlagDst ^ Arch.FlagSrc) & (Arch.FlagDst ^ Arch.FlagRes) & Arch.FlagSign) != 0,
            FlagOp.Logic => false,
            _ => (Arch.Rflags & Rf.OF) != 0,
        };
    }

    internal bool PF => Arch.FlagOp == FlagOp.None ? (Arch.Rflags & Rf.PF) != 0 : (BitOperations.PopCount((uint)Arch.FlagRes & 0xFF) & 1) == 0;

    internal bool AF => Arch.FlagOp switch
    {
        FlagOp.None or FlagOp.Result => (Arch.Rflags & Rf.AF) != 0,
        FlagOp.Logic => false,
        _ => ((Arch.FlagDst ^ Arch.FlagSrc ^ Arch.FlagRes) & 0x10) != 0,
    };

    /// <summary>Evaluates condition code <paramref name="cc"/> (0-15 in x86 encoding order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Cond(int cc)
    {
        bool r = (cc >> 1) switch
        {
            0 => OF,
            1 => CF,
            2 => ZF,
            3 => CF || ZF,
            4 => SF,
            5 => PF,
            6 => Arch.FlagOp is FlagOp.Sub ? SignedLess() : SF != OF,
            _ => ZF || (Arch.FlagOp is FlagOp.Sub ? SignedLess() : SF != OF),
        };
        return r ^ ((cc & 1) != 0);
    }

    /// <summary>dst &lt; src as signed numbers of the recorded size (the L condition after SUB/CMP).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool SignedLess()
    {
        int sh = BitOperations.LeadingZeroCount(Arch.FlagSign);
        return (long)(Arch.FlagDst << sh) < (long)(Arch.FlagSrc << sh);
    }

    /// <summary>Folds the lazy flags into Arch.Rflags (needed before anything reads or partly keeps them).</summary>
    internal void MaterializeFlags()
    {
        if (Arch.FlagOp == FlagOp.None) return;
        ulong f = Arch.Rflags & ~Rf.Status;
        if (CF) f |= Rf.CF;
        if (PF) f |= Rf.PF;
        if (AF) f |= Rf.AF;
        if (ZF) f |= Rf.ZF;
        if (SF) f |= Rf.SF;
        if (OF) f |= Rf.OF;
        Arch.Rflags = f;
        Arch.FlagOp = FlagOp.None;
    }

    /// <summary>The architectural RFLAGS value.</summary>
    public ulong Rflags
    {
        get { MaterializeFlags(); return Arch.Rflags; }
        set
        {
            Arch.Rflags = (value & Rf.Writable) | Rf.Fixed1;
            Arch.FlagOp = FlagOp.None;
            _tlb.AccessKey = (_tlb.AccessKey & ~3UL) | PrivilegeKey(_cpl); // RFLAGS.AC turns alignment checking on or off
        }
    }

    /// <summary>Sets only the status flags (CF PF AF ZF SF OF) from <paramref name="value"/>.</summary>
    internal void SetStatusFlags(ulong value, ulong which = Rf.Status)
    {
        MaterializeFlags();
        Arch.Rflags = (Arch.Rflags & ~which) | (value & which);
    }

    /// <summary>Sets CF alone, keeping the others (BT*, and the like).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void SetCarry(bool cf)
    {
        KeepResultFlags(Rf.OF);
        Arch.Rflags = cf ? Arch.Rflags | Rf.CF : Arch.Rflags & ~Rf.CF;
    }

    /// <summary>Sets CF and OF, keeping SF, ZF, PF and AF (ROL, ROR, RCL, RCR).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void SetCarryAndOverflow(bool cf, bool of)
    {
        KeepResultFlags(0);
        Arch.Rflags = (Arch.Rflags & ~(Rf.CF | Rf.OF)) | (cf ? Rf.CF : 0) | (of ? Rf.OF : 0);
    }

    /// <summary>
    /// Before an instruction that replaces CF (and OF, unless <paramref name="alsoKept"/> names it) but keeps
    /// the other status flags: turns any lazy state into <see cref="FlagOp.Result"/>, whose SF, ZF and PF
    /// still come from the recorded result, moving only AF (and OF when kept) into Arch.Rflags. Cheaper than
    /// materializing everything, which rotate-heavy code (hashes, ciphers) would pay on every rotate.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void KeepResultFlags(ulong alsoKept)
    {
        if (Arch.FlagOp is FlagOp.None or FlagOp.Result) return;
        ulong kept = (AF ? Rf.AF : 0) | ((alsoKept & Rf.OF) != 0 && OF ? Rf.OF : 0);
        Arch.Rflags = (Arch.Rflags & ~(Rf.AF | alsoKept)) | kept;
        Arch.FlagOp = FlagOp.Result;
    }

    /// <summary>POPF/IRET rules: IOPL changes only at CPL 0, IF only when CPL &lt;= IOPL; VM, VIP, VIF, RF kept.</summary>
    internal void WriteFlagsFromGuest(ulong v, ulong sizeMask)
    {
        ulong old = Rflags;
        ulong changeable = Rf.Status | Rf.TF | Rf.DF | Rf.NT | Rf.AC | Rf.ID;
        if (_cpl == 0) changeable |= Rf.IOPL;
        if (_cpl <= (int)((old >> 12) & 3)) changeable |= Rf.IF;
        changeable &= sizeMask;
        Rflags = (old & ~changeable) | (v & changeable);
    }
}
