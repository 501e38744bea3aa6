using System.Numerics;
using System.Runtime.CompilerServices;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>Kinds of deferred ("lazy") arithmetic-flag computation: see <see cref="LazyFlags"/>.</summary>
internal static class FlagOp
{
    public const int None = 0;   // Rflags holds the status flags itself
    public const int Add = 1;
    public const int Adc = 2;    // ADC with carry-in 1 (carry-in 0 is recorded as Add)
    public const int Sub = 3;    // also CMP and NEG (as 0 - x)
    public const int Sbb = 4;    // SBB with borrow-in 1
    public const int Logic = 5;  // CF = OF = 0; AF (undefined) = 0
    public const int Inc = 6;    // like Add with src 1, CF kept in Rflags
    public const int Dec = 7;    // like Sub with src 1, CF kept in Rflags
    public const int Result = 8; // SF/ZF/PF from the result; CF, OF, AF stored in Rflags
}

/// <summary>
/// RFLAGS with its arithmetic flags computed only when read: an ALU instruction records its operands and result
/// (masked to the operand size) and which operation made them; most results are only ever tested by the next Jcc
/// (which needs one flag) or overwritten by the next ALU instruction. See FLAGS.md.
/// </summary>
/// <remarks>A struct in its processor's field (<c>X86Cpu.Flags</c>), like <see cref="SoftTlb"/>: a handler reaches the
/// flags through one reference, as when they were fields of <see cref="ArchState"/>. Writing RFLAGS as a whole, which
/// also switches alignment checking, is the processor's (<c>X86Cpu.Rflags</c>).</remarks>
internal struct LazyFlags
{
    /// <summary>The <see cref="FlagOp"/> that made <see cref="Dst"/>, <see cref="Src"/> and <see cref="Res"/>.</summary>
    public int Op;
    public ulong Dst, Src, Res;
    /// <summary>The sign bit of the recorded operand size.</summary>
    public ulong Sign;
    /// <summary>RFLAGS as stored; its status bits are authoritative only while Op == None (or as noted per kind).</summary>
    public ulong Rflags;

    public LazyFlags() => Rflags = Rf.Fixed1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set(int op, ulong dst, ulong src, ulong res, ulong sign)
    {
        Op = op; Dst = dst; Src = src; Res = res; Sign = sign;
    }

    /// <summary>INC/DEC: CF is kept, so the current CF moves into Rflags (cheaply, without computing the other flags,
    /// which the new lazy state supersedes) before recording the new operation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void KeepCarryFor(int op, ulong dst, ulong res, ulong sign)
    {
        bool cf = CF;
        Rflags = (Rflags & ~Rf.CF) | (cf ? Rf.CF : 0);
        Op = op; Dst = dst; Src = 1; Res = res; Sign = sign;
    }

    /// <summary>Records flags that were computed eagerly: SF/ZF/PF from <paramref name="res"/>, CF/OF/AF given.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetResult(ulong res, ulong sign, bool cf, bool of, bool af = false)
    {
        Rflags = (Rflags & ~(Rf.CF | Rf.OF | Rf.AF)) | (cf ? Rf.CF : 0) | (of ? Rf.OF : 0) | (af ? Rf.AF : 0);
        Op = FlagOp.Result; Res = res; Sign = sign;
    }

    /// <summary>
    /// As <see cref="SetResult"/>, but ZF reads 0 whatever <paramref name="res"/> is; SF and PF still come from it
    /// (undefined results that hardware computes that way: Intel's MUL/IMUL, BSF/BSR).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetResultNotZero(ulong res, ulong sign, bool cf, bool of)
        // Bit 8 is neither the sign bit of any operand size nor in the byte PF reads, and makes the recorded result nonzero.
        => SetResult(res | 0x100, sign, cf, of);

    public readonly bool CF
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Op switch
        {
            FlagOp.Add => Res < Dst,
            FlagOp.Adc => Res <= Dst,
            FlagOp.Sub => Dst < Src,
            FlagOp.Sbb => Dst <= Src,
            FlagOp.Logic => false,
            _ => (Rflags & Rf.CF) != 0,
        };
    }

    public readonly bool ZF
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Op == FlagOp.None ? (Rflags & Rf.ZF) != 0 : Res == 0;
    }

    public readonly bool SF
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Op == FlagOp.None ? (Rflags & Rf.SF) != 0 : (Res & Sign) != 0;
    }

    public readonly bool OF => Op switch
    {
        FlagOp.Add or FlagOp.Adc or FlagOp.Inc => ((Dst ^ Res) & (Src ^ Res) & Sign) != 0,
        FlagOp.Sub or FlagOp.Sbb or FlagOp.Dec => ((Dst ^ Src) & (Dst ^ Res) & Sign) != 0,
        FlagOp.Logic => false,
        _ => (Rflags & Rf.OF) != 0,
    };

    public readonly bool PF => Op == FlagOp.None ? (Rflags & Rf.PF) != 0 : (BitOperations.PopCount((uint)Res & 0xFF) & 1) == 0;

    public readonly bool AF => Op switch
    {
        FlagOp.None or FlagOp.Result => (Rflags & Rf.AF) != 0,
        FlagOp.Logic => false,
        _ => ((Dst ^ Src ^ Res) & 0x10) != 0,
    };

    /// <summary>Evaluates condition code <paramref name="cc"/> (0-15 in x86 encoding order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Cond(int cc)
    {
        bool r = (cc >> 1) switch
        {
            0 => OF,
            1 => CF,
            2 => ZF,
            3 => CF || ZF,
            4 => SF,
            5 => PF,
            6 => Op is FlagOp.Sub ? SignedLess() : SF != OF,
            _ => ZF || (Op is FlagOp.Sub ? SignedLess() : SF != OF),
        };
        return r ^ ((cc & 1) != 0);
    }

    /// <summary>dst &lt; src as signed numbers of the recorded size (the L condition after SUB/CMP).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly bool SignedLess()
    {
        int sh = BitOperations.LeadingZeroCount(Sign);
        return (long)(Dst << sh) < (long)(Src << sh);
    }

    /// <summary>Folds the lazy flags into Rflags (needed before anything reads or partly keeps them).</summary>
    public void Materialize()
    {
        if (Op == FlagOp.None) return;
        ulong f = Rflags & ~Rf.Status;
        if (CF) f |= Rf.CF;
        if (PF) f |= Rf.PF;
        if (AF) f |= Rf.AF;
        if (ZF) f |= Rf.ZF;
        if (SF) f |= Rf.SF;
        if (OF) f |= Rf.OF;
        Rflags = f;
        Op = FlagOp.None;
    }

    /// <summary>Replaces all of RFLAGS (bits no software can set read as 0, bit 1 as 1).</summary>
    public void Write(ulong value)
    {
        Rflags = (value & Rf.Writable) | Rf.Fixed1;
        Op = FlagOp.None;
    }

    /// <summary>Sets only the status flags (CF PF AF ZF SF OF) from <paramref name="value"/>.</summary>
    public void SetStatus(ulong value, ulong which = Rf.Status)
    {
        Materialize();
        Rflags = (Rflags & ~which) | (value & which);
    }

    /// <summary>Sets CF alone, keeping the others (BT*, and the like).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetCarry(bool cf)
    {
        KeepResultFlags(Rf.OF);
        Rflags = cf ? Rflags | Rf.CF : Rflags & ~Rf.CF;
    }

    /// <summary>Sets CF and OF, keeping SF, ZF, PF and AF (ROL, ROR, RCL, RCR).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetCarryAndOverflow(bool cf, bool of)
    {
        KeepResultFlags(0);
        Rflags = (Rflags & ~(Rf.CF | Rf.OF)) | (cf ? Rf.CF : 0) | (of ? Rf.OF : 0);
    }

    /// <summary>
    /// Before an instruction that replaces CF (and OF, unless <paramref name="alsoKept"/> names it) but keeps
    /// the other status flags: turns any lazy state into <see cref="FlagOp.Result"/>, whose SF, ZF and PF
    /// still come from the recorded result, moving only AF (and OF when kept) into Rflags. Cheaper than
    /// materializing everything, which rotate-heavy code (hashes, ciphers) would pay on every rotate.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void KeepResultFlags(ulong alsoKept)
    {
        if (Op is FlagOp.None or FlagOp.Result) return;
        ulong kept = (AF ? Rf.AF : 0) | ((alsoKept & Rf.OF) != 0 && OF ? Rf.OF : 0);
        Rflags = (Rflags & ~(Rf.AF | alsoKept)) | kept;
        Op = FlagOp.Result;
    }
}
