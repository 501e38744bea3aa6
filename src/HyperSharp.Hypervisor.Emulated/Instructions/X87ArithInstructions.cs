using System.Numerics;
using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>The x87 data and arithmetic instructions over <see cref="Float80"/> (exact 80-bit arithmetic): their translation
/// and execution.</summary>
internal static unsafe class X87ArithInstructions
{
    /// <summary>#NM for CR0.EM/TS, then #MF for a pending unmasked exception when CR0.NE; starts the instruction's stack
    /// fault tracking.</summary>
    private static void FpuCheck(X86Cpu c)
    {
        c._x87.StackFault = false;
        if ((c.Arch.Cr0 & (ControlRegisters.Cr0EM | ControlRegisters.Cr0TS)) != 0) throw c.Fault(Vec.NM);
        if ((c._x87.Regs.Fsw & 0x80) != 0 && (c.Arch.Cr0 & ControlRegisters.Cr0NE) != 0) throw c.Fault(Vec.MF);
    }

    // Encoding in DecodedInstruction: Reg = destination ST index, Rm = source ST index, Cond = operation,
    // Imm2 bits 0-1 = pops after the instruction, bits 4-7 = memory operand type (MemF32...).

    private const int MemF32 = 1, MemF64 = 2, MemF80 = 3, MemI16 = 4, MemI32 = 5, MemI64 = 6;
    private static int MemType(ref DecodedInstruction d) => (int)(d.Imm2 >> 4) & 0xF;
    private static int Pops(ref DecodedInstruction d) => (int)(d.Imm2 & 3);

    private static Float80 LoadFp(X86Cpu c, ref DecodedInstruction d, ref FpExc exc)
    {
        ulong lin = c.Lin(ref d);
        c._x87.DenormalSource = false;
        switch (MemType(ref d))
        {
            case MemF32:
            {
                uint b = c.Load<uint>(lin);
                c._x87.DenormalSource = (b & 0x7F800000) == 0 && (b & 0x7FFFFF) != 0;
                return Float80.FromSingle(BitConverter.UInt32BitsToSingle(b), ref exc);
            }
            case MemF64:
            {
                ulong b = c.Load<ulong>(lin);
                c._x87.DenormalSource = (b & 0x7FF0000000000000) == 0 && (b & 0xFFFFFFFFFFFFF) != 0;
                return Float80.FromDouble(BitConverter.UInt64BitsToDouble(b), ref exc);
            }
        }
        return MemType(ref d) switch
        {
            MemF80 => new Float80(c.Load<ulong>(lin), c.Load<ushort>(lin + 8)),
            MemI16 => Float80.FromInt64(c.Load<short>(lin)),
            MemI32 => Float80.FromInt64(c.Load<int>(lin)),
            _ => Float80.FromInt64(c.Load<long>(lin)),
        };
    }

    /// <summary>The source operand of a two-operand x87 instruction: memory or ST(Rm).</summary>
    private static Float80 FpSource(X86Cpu c, ref DecodedInstruction d, ref FpExc exc)
    {
        c._x87.DenormalSource = false;
        return X86Cpu.IsMem(ref d) ? LoadFp(c, ref d, ref exc) : c._x87.St(d.Rm, ref exc);
    }

    /// <summary>A denormal single/double memory operand raises Denormal unless a NaN or an invalid operation outranks it.</summary>
    private static void SourceDenormal(X86Cpu c, Float80 a, Float80 b, ref FpExc exc)
    {
        if (c._x87.DenormalSource && !a.IsNaN && !b.IsNaN && !a.IsUnsupported && !b.IsUnsupported && (exc & FpExc.Invalid) == 0) exc |= FpExc.Denormal;
    }

    private static void FpPops(X86Cpu c, ref DecodedInstruction d)
    {
        for (int i = Pops(ref d); i > 0; i--) c._x87.Pop();
    }

    internal static int FldInstr(X86Cpu c, ref DecodedInstruction d)
    {
        FpuCheck(c);
        var exc = FpExc.None;
        var v = FpSource(c, ref d, ref exc);
        if (X86Cpu.IsMem(ref d) && MemType(ref d) is MemF32 or MemF64)
        {
            // Widening loads raise Invalid for an SNaN (loading it quieted) and Denormal for a denormal;
            // 80-bit loads and register copies never raise anything.
            if (v.IsSNaN) { exc |= FpExc.Invalid; v = v.Quiet(); }
            if (c._x87.DenormalSource) exc |= FpExc.Denormal;
        }
        c._x87.Push(v, ref exc);
        c._x87.Exceptions(exc);
        return 0;
    }

    internal static int FstInstr(X86Cpu c, ref DecodedInstruction d)
    {
        FpuCheck(c);
        var exc = FpExc.None;
        var v = c._x87.St(0, ref exc);
        if (X86Cpu.IsMem(ref d))
        {
            ulong lin = c.Lin(ref d);
            int rc = c._x87.Rounding;
            switch (MemType(ref d))
            {
                case MemF32: c.Store(lin, (uint)v.ToIeee(32, rc, ref exc)); break;
                case MemF64: c.Store(lin, v.ToIeee(64, rc, ref exc)); break;
                case MemF80: c.Store(lin, v.Mant); c.Store(lin + 8, v.SignExp); break;
                default:
                {
                    bool trunc = d.Cond == 1; // FISTTP
                    int bits = MemType(ref d) == MemI16 ? 16 : MemType(ref d) == MemI32 ? 32 : 64;
                    long iv = v.ToInt(bits, rc, trunc, ref exc);
                    if (bits == 16) c.Store(lin, (short)iv); else if (bits == 32) c.Store(lin, (int)iv); else c.Store(lin, iv);
                    break;
                }
            }
        }
        else c._x87.SetSt(d.Reg, v);
        c._x87.Exceptions(exc);
        FpPops(c, ref d);
        return 0;
    }

    /// <summary>FADD FMUL FSUB FSUBR FDIV FDIVR (Cond = the /r number: 0 1 4 5 6 7): ST(Reg) = ST(Reg) op source.</summary>
    internal static int FArith(X86Cpu c, ref DecodedInstruction d)
    {
        FpuCheck(c);
        var exc = FpExc.None;
        var src = FpSource(c, ref d, ref exc);
        var dst = c._x87.St(d.Reg, ref exc);
        int p = c._x87.Precision, rc = c._x87.Rounding;
        var r = d.Cond switch
        {
            0 => Float80.Add(dst, src, p, rc, ref exc),
            1 => Float80.Mul(dst, src, p, rc, ref exc),
            4 => Float80.Add(dst, src, p, rc, ref exc, subtract: true),
            5 => Float80.Add(src, dst, p, rc, ref exc, subtract: true),
            6 => Float80.Div(dst, src, p, rc, ref exc),
            _ => Float80.Div(src, dst, p, rc, ref exc),
        };
        if (!(d.Cond is 6 && src.IsZero) && !(d.Cond is 7 && dst.IsZero)) SourceDenormal(c, src, dst, ref exc);
        if (c._x87.StackFault) r = Float80.Indefinite; // masked stack underflow: the result is the indefinite
        else c._x87.Regs.Fsw &= unchecked((ushort)~0x200);
        c._x87.SetSt(d.Reg, r);
        c._x87.Exceptions(exc);
        FpPops(c, ref d);
        return 0;
    }

    /// <summary>FCOM/FUCOM/FTST (Cond 0 = ordered: any NaN is Invalid; 1 = unordered: only SNaN),
    /// Cond bit 2 = FCOMI family (sets ZF PF CF), bit 3 = compare with +0 (FTST).</summary>
    internal static int FCompare(X86Cpu c, ref DecodedInstruction d)
    {
        FpuCheck(c);
        var exc = FpExc.None;
        var a = c._x87.St(0, ref exc);
        if ((d.Cond & 8) != 0) c._x87.DenormalSource = false; // FTST has no source operand: no stale flag from an earlier load
        var b = (d.Cond & 8) != 0 ? Float80.Zero : FpSource(c, ref d, ref exc);
        int r = c._x87.StackFault ? 2 : Float80.Compare(a, b);
        if (r == 2 && ((d.Cond & 1) == 0 || a.IsSNaN || b.IsSNaN || a.IsUnsupported || b.IsUnsupported)) exc |= FpExc.Invalid;
        else if (r != 2 && (a.IsDenormal || b.IsDenormal)) exc |= FpExc.Denormal; // NaNs and invalid take priority
        if (r != 2) SourceDenormal(c, a, b, ref exc);
        if ((d.Cond & 4) != 0)
        {
            ulong f = r switch { -1 => Rf.CF, 0 => Rf.ZF, 1 => 0, _ => Rf.ZF | Rf.PF | Rf.CF };
            c.Flags.SetStatus(f);
            c._x87.Regs.Fsw &= unchecked((ushort)~0x200);
        }
        else c._x87.CompareFlags(r);
        c._x87.Exceptions(exc);
        FpPops(c, ref d);
        return 0;
    }

    /// <summary>Constants (Cond): 0 +0, 1 +1, 2 pi, 3 log2(e), 4 log2(10), 5 log10(2), 6 ln(2). The irrational
    /// ones are the SDM's 66-bit internal values rounded to 64 bits with the current rounding control:
    /// truncated significand, and whether the dropped bits are at least half an ulp (all are inexact).</summary>
    private static readonly (ulong mant, ushort exp, bool halfOrMore)[] Constants =
    {
        (0, 0, false), (0x8000000000000000, 0x3FFF, false),
        (0xC90FDAA22168C234, 0x4000, true),   // pi:       ...C234 C4C6...
        (0xB8AA3B295C17F0BB, 0x3FFF, true),   // log2(e):  ...F0BB BE87...
        (0xD49A784BCD1B8AFE, 0x4000, false),  // log2(10): ...8AFE 492B...
        (0x9A209A84FBCFF798, 0x3FFD, true),   // log10(2): ...F798 8F89...
        (0xB17217F7D1CF79AB, 0x3FFE, true),   // ln(2):    ...79AB C9E3...
    };

    internal static int FConst(X86Cpu c, ref DecodedInstruction d)
    {
        FpuCheck(c);
        var (mant, exp, half) = Constants[d.Cond];
        if (d.Cond >= 2)
        {
            int rc = c._x87.Rounding;
            if (rc == 2 || (rc == 0 && half)) mant++; // all positive: "down" and "toward zero" truncate
        }
        var exc = FpExc.None;
        c._x87.Push(new Float80(mant, exp), ref exc);
        c._x87.Exceptions(exc);
        return 0;
    }

    /// <summary>FXCH (0) FCHS (1) FABS (2) FSQRT (3) FRNDINT (4) FXAM (5) FSCALE (6) FPREM (7) FPREM1 (8)
    /// FFREE (9) FINCSTP (10) FDECSTP (11) FNOP (12) FCMOVcc (13, condition in Imm), transcendentals (20+).</summary>
    internal static int FMisc(X86Cpu c, ref DecodedInstruction d)
    {
        FpuCheck(c);
        var exc = FpExc.None;
        int p = c._x87.Precision, rc = c._x87.Rounding;
        switch (d.Cond)
        {
            case 0:
            {
                var a = c._x87.St(0, ref exc); var b = c._x87.St(d.Rm, ref exc);
                c._x87.SetSt(0, b); c._x87.SetSt(d.Rm, a);
                break;
            }
            case 1: { var v = c._x87.St(0, ref exc); c._x87.SetSt(0, c._x87.StackFault ? v : v.Negate()); break; }
            case 2: { var v = c._x87.St(0, ref exc); c._x87.SetSt(0, c._x87.StackFault ? v : v.Abs()); break; }
            case 3: c._x87.SetSt(0, Float80.Sqrt(c._x87.St(0, ref exc), p, rc, ref exc)); break;
            case 4: c._x87.SetSt(0, c._x87.St(0, ref exc).RoundToIntegral(rc, ref exc)); break;
            case 5: Fxam(c); break;
            case 6: { var r = Scale(c._x87.St(0, ref exc), c._x87.St(1, ref exc), rc, ref exc); c._x87.SetSt(0, c._x87.StackFault ? Float80.Indefinite : r); break; }
            case 7: case 8: PartialRemainder(c, d.Cond == 8, ref exc); break;
            case 9: c._x87.SetEmpty((c._x87.Top + d.Rm) & 7); break;
            case 10: c._x87.SetTop(c._x87.Top + 1); break;
            case 11: c._x87.SetTop(c._x87.Top - 1); break;
            case 12: break;
            case 13:
            {
                // Both registers are checked for underflow whatever the condition.
                c._x87.St(0, ref exc);
                var sti = c._x87.St(d.Rm, ref exc);
                if (c._x87.StackFault) c._x87.SetSt(0, Float80.Indefinite);
                else if (c.Flags.Cond((int)d.Imm)) c._x87.SetSt(0, sti);
                break;
            }
            default: Transcendental(c, d.Cond, ref exc); break;
        }
        c._x87.Exceptions(exc);
        return 0;
    }

    /// <summary>FXAM: C3 C2 C0 = class, C1 = sign.</summary>
    private static void Fxam(X86Cpu c)
    {
        int phys = c._x87.Top;
        var v = X87Stack.ToF80(c._x87.Regs.St[phys]);
        int cls; // C3 C2 C0 as bits 2 1 0
        if (c._x87.IsEmpty(phys)) cls = 0b101;
        else if (v.IsNaN) cls = 0b001;
        else if (v.IsInf) cls = 0b011;
        else if (v.IsZero) cls = 0b100;
        else if (v.IsDenormal) cls = 0b110;
        else if ((v.Mant >> 63) == 0) cls = 0b000; // unnormal: unsupported
        else cls = 0b010;
        ushort codes = (ushort)(((cls & 4) != 0 ? 0x4000 : 0) | ((cls & 2) != 0 ? 0x400 : 0) | ((cls & 1) != 0 ? 0x100 : 0) | (v.Sign ? 0x200 : 0));
        c._x87.Regs.Fsw = (ushort)((c._x87.Regs.Fsw & ~0x4700) | codes);
    }

    /// <summary>FSCALE: ST0 * 2^trunc(ST1), exact up to the final rounding.</summary>
    private static Float80 Scale(Float80 a, Float80 b, int rc, ref FpExc exc)
    {
        if (a.IsNaN || b.IsNaN || a.IsUnsupported || b.IsUnsupported) return Float80.Add(a, b, 64, rc, ref exc); // NaN propagation rules
        if (a.IsDenormal || b.IsDenormal) exc |= FpExc.Denormal;
        if (b.IsInf)
        {
            if (a.IsZero && !b.Sign || a.IsInf && b.Sign) { exc |= FpExc.Invalid; return Float80.Indefinite; }
            return b.Sign ? new Float80(0, (ushort)(a.SignExp & 0x8000)) : a.IsZero ? a : Float80.Inf(a.Sign);
        }
        if (a.IsZero || a.IsInf) return a;
        // trunc(ST1), saturated well beyond any exponent range (no exceptions from this step).
        long n;
        int be = b.BiasedExp - 16383;
        if (b.IsZero || b.IsDenormal || be < 0) n = 0;
        else if (be > 20) n = b.Sign ? -(1 << 21) : 1 << 21;
        else { n = (long)(b.Mant >> (63 - be)); if (b.Sign) n = -n; }
        int e = a.BiasedExp == 0 ? 1 - 16383 : a.BiasedExp - 16383;
        return Float80.Round(a.Sign, e + (int)n, (UInt128)a.Mant << 64, 64, rc, ref exc); // value = mant * 2^(e + n - 63)
    }

    /// <summary>FPREM (truncating quotient) / FPREM1 (nearest): exact when the exponents differ by less than 64,
    /// else one partial step (C2 = 1) reducing the exponent difference by 32..63.</summary>
    private static void PartialRemainder(X86Cpu c, bool ieee, ref FpExc exc)
    {
        var a = c._x87.St(0, ref exc);
        var b = c._x87.St(1, ref exc);
        if (c._x87.StackFault) { c._x87.SetSt(0, Float80.Indefinite); c._x87.Regs.Fsw &= unchecked((ushort)~0x0400); return; } // C3 C0 stay, as on hardware
        // A NaN or unsupported operand: the propagated NaN (or indefinite), and the reduction counts as complete (C2 = 0).
        if (a.IsNaN || b.IsNaN || a.IsUnsupported || b.IsUnsupported) { c._x87.SetSt(0, Float80.Add(a, b, 64, 0, ref exc)); c._x87.Regs.Fsw &= unchecked((ushort)~0x0400); return; }
        if (a.IsInf || b.IsZero) { exc |= FpExc.Invalid; c._x87.SetSt(0, Float80.Indefinite); c._x87.Regs.Fsw &= unchecked((ushort)~0x0400); return; }
        if (a.IsDenormal || b.IsDenormal) exc |= FpExc.Denormal;
        if (a.IsZero || b.IsInf) { c._x87.Regs.Fsw = (ushort)(c._x87.Regs.Fsw & ~0x4700); return; }
        Unpack80(a, out int ea, out ulong ma);
        Unpack80(b, out int eb, out ulong mb);
        int diff = ea - eb;
        BigInteger num, den = mb;
        int scaleE; // the result's value = R * 2^(scaleE - 63)
        bool partial = diff >= 64;
        if (partial)
        {
            int reduce = 32 + (diff % 32); // implementation-defined step (the SDM allows 32..63)
            num = (BigInteger)ma << reduce;
            scaleE = eb + (diff - reduce);
            diff = reduce;
        }
        else if (diff >= 0) { num = (BigInteger)ma << diff; scaleE = eb; }
        else { num = ma; den = (BigInteger)mb << -diff; scaleE = ea; }
        var q = BigInteger.DivRem(num, den, out var rem);
        if (ieee && !partial)
        {
            var twice = rem * 2;
            if (twice > den || (twice == den && !q.IsEven)) { q += 1; rem -= den; }
        }
        bool neg = a.Sign;
        if (rem.Sign < 0) { neg = !neg; rem = -rem; }
        var none = FpExc.None;
        var r = rem.IsZero ? new Float80(0, (ushort)(a.SignExp & 0x8000)) : Float80.Round(neg, scaleE, (UInt128)rem << 64, 64, 0, ref none);
        c._x87.SetSt(0, r);
        ulong qb = (ulong)(q & 7);
        ushort cc = (ushort)(((qb & 4) != 0 ? 0x100 : 0) | ((qb & 2) != 0 ? 0x4000 : 0) | ((qb & 1) != 0 ? 0x200 : 0) | (partial ? 0x400 : 0));
        if (partial) cc = 0x400;
        c._x87.Regs.Fsw = (ushort)((c._x87.Regs.Fsw & ~0x4700) | cc);
    }

    private static void Unpack80(Float80 v, out int e, out ulong m)
    {
        m = v.Mant;
        if (v.BiasedExp == 0)
        {
            int lz = BitOperations.LeadingZeroCount(m);
            m <<= lz; e = 1 - 16383 - lz;
        }
        else e = v.BiasedExp - 16383;
    }

    /// <summary>FSIN FCOS FSINCOS FPTAN FPATAN F2XM1 FYL2X FYL2XP1 (Cond 20-27): computed in double precision,
    /// so results can differ from hardware in the low bits (documented in CPU.md).</summary>
    private static void Transcendental(X86Cpu c, int op, ref FpExc exc)
    {
        double x = c._x87.St(0, ref exc).ToDoubleApprox();
        FpExc ignore = FpExc.None;
        Float80 F(double v) => Float80.FromDouble(v, ref ignore);
        c._x87.Regs.Fsw &= unchecked((ushort)~0x400); // C2 = 0: argument in range
        switch (op)
        {
            case 20: c._x87.SetSt(0, F(Math.Sin(x))); break;
            case 21: c._x87.SetSt(0, F(Math.Cos(x))); break;
            case 22: c._x87.SetSt(0, F(Math.Sin(x))); c._x87.Push(F(Math.Cos(x)), ref exc); break;
            case 23: c._x87.SetSt(0, F(Math.Tan(x))); c._x87.Push(Float80.One, ref exc); break;
            case 24: { double y = c._x87.St(1, ref exc).ToDoubleApprox(); c._x87.Pop(); c._x87.SetSt(0, F(Math.Atan2(y, x))); break; }
            case 25: c._x87.SetSt(0, F(Math.Pow(2, x) - 1)); break;
            case 26: { double y = c._x87.St(1, ref exc).ToDoubleApprox(); c._x87.Pop(); c._x87.SetSt(0, F(y * Math.Log2(x))); break; }
            default: { double y = c._x87.St(1, ref exc).ToDoubleApprox(); c._x87.Pop(); c._x87.SetSt(0, F(y * Math.Log2(1 + x))); break; }
        }
        exc |= FpExc.Precision;
    }

    private static int MemTypeOf(in Instruction ins) => ins.MemorySize switch
    {
        MemorySize.Float32 => MemF32, MemorySize.Float64 => MemF64, MemorySize.Float80 => MemF80,
        MemorySize.Int16 => MemI16, MemorySize.Int32 => MemI32, _ => MemI64,
    };

    private static byte StIndex(Register r) => (byte)(r - Register.ST0);

    /// <summary>The x87 data and arithmetic instructions (the control ones are <see cref="X87ControlInstructions"/>').</summary>
    internal static Flow Translate(in Instruction ins, ref DecodedInstruction d)
    {
        bool mem = ins.OpCount > 0 && ins.Op0Kind == OpKind.Memory;
        if (mem) d.Imm2 = (ulong)MemTypeOf(in ins) << 4;
        var m = ins.Mnemonic;
        // Register operands: two-operand forms are "op st(i), st(j)"; one-operand forms name the other register.
        byte r0 = ins.OpCount > 0 && ins.Op0Kind == OpKind.Register && ins.Op0Register.IsST() ? StIndex(ins.Op0Register) : (byte)0;
        byte r1 = ins.OpCount > 1 && ins.Op1Kind == OpKind.Register && ins.Op1Register.IsST() ? StIndex(ins.Op1Register) : (byte)0;
        d.Reg = 0; d.Rm = 0;
        switch (m)
        {
            case Mnemonic.Fld: case Mnemonic.Fild:
                d.Rm = r0; d.Exec = &FldInstr; return Flow.Continue;
            case Mnemonic.Fst: case Mnemonic.Fstp: case Mnemonic.Fist: case Mnemonic.Fistp: case Mnemonic.Fisttp:
                d.Reg = r0;
                d.Imm2 |= m is Mnemonic.Fstp or Mnemonic.Fistp or Mnemonic.Fisttp ? 1UL : 0UL;
                d.Cond = (byte)(m == Mnemonic.Fisttp ? 1 : 0);
                d.Exec = &FstInstr; return Flow.Continue;
            case Mnemonic.Fadd: case Mnemonic.Faddp: case Mnemonic.Fiadd: d.Cond = 0; break;
            case Mnemonic.Fmul: case Mnemonic.Fmulp: case Mnemonic.Fimul: d.Cond = 1; break;
            case Mnemonic.Fsub: case Mnemonic.Fsubp: case Mnemonic.Fisub: d.Cond = 4; break;
            case Mnemonic.Fsubr: case Mnemonic.Fsubrp: case Mnemonic.Fisubr: d.Cond = 5; break;
            case Mnemonic.Fdiv: case Mnemonic.Fdivp: case Mnemonic.Fidiv: d.Cond = 6; break;
            case Mnemonic.Fdivr: case Mnemonic.Fdivrp: case Mnemonic.Fidivr: d.Cond = 7; break;
            case Mnemonic.Fcom: case Mnemonic.Fcomp: case Mnemonic.Fcompp: case Mnemonic.Ficom: case Mnemonic.Ficomp:
            case Mnemonic.Fucom: case Mnemonic.Fucomp: case Mnemonic.Fucompp:
            case Mnemonic.Fcomi: case Mnemonic.Fcomip: case Mnemonic.Fucomi: case Mnemonic.Fucomip: case Mnemonic.Ftst:
            {
                bool unordered = m is Mnemonic.Fucom or Mnemonic.Fucomp or Mnemonic.Fucompp or Mnemonic.Fucomi or Mnemonic.Fucomip;
                bool eflags = m is Mnemonic.Fcomi or Mnemonic.Fcomip or Mnemonic.Fucomi or Mnemonic.Fucomip;
                d.Cond = (byte)((unordered ? 1 : 0) | (eflags ? 4 : 0) | (m == Mnemonic.Ftst ? 8 : 0));
                d.Rm = eflags ? r1 : (ins.OpCount == 0 ? (byte)1 : ins.OpCount == 1 ? r0 : r1);
                int pops = m is Mnemonic.Fcompp or Mnemonic.Fucompp ? 2
                    : m is Mnemonic.Fcomp or Mnemonic.Ficomp or Mnemonic.Fucomp or Mnemonic.Fcomip or Mnemonic.Fucomip ? 1 : 0;
                d.Imm2 |= (uint)pops;
                d.Exec = &FCompare; return Flow.Continue;
            }
            case Mnemonic.Fldz: d.Cond = 0; d.Exec = &FConst; return Flow.Continue;
            case Mnemonic.Fld1: d.Cond = 1; d.Exec = &FConst; return Flow.Continue;
            case Mnemonic.Fldpi: d.Cond = 2; d.Exec = &FConst; return Flow.Continue;
            case Mnemonic.Fldl2e: d.Cond = 3; d.Exec = &FConst; return Flow.Continue;
            case Mnemonic.Fldl2t: d.Cond = 4; d.Exec = &FConst; return Flow.Continue;
            case Mnemonic.Fldlg2: d.Cond = 5; d.Exec = &FConst; return Flow.Continue;
            case Mnemonic.Fldln2: d.Cond = 6; d.Exec = &FConst; return Flow.Continue;
            case Mnemonic.Fxch: d.Cond = 0; d.Rm = ins.OpCount > 1 ? r1 : (byte)1; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fchs: d.Cond = 1; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fabs: d.Cond = 2; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fsqrt: d.Cond = 3; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Frndint: d.Cond = 4; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fxam: d.Cond = 5; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fscale: d.Cond = 6; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fprem: d.Cond = 7; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fprem1: d.Cond = 8; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Ffree: d.Cond = 9; d.Rm = r0; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fincstp: d.Cond = 10; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fdecstp: d.Cond = 11; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fnop: d.Cond = 12; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fcmovb: case Mnemonic.Fcmove: case Mnemonic.Fcmovbe: case Mnemonic.Fcmovu:
            case Mnemonic.Fcmovnb: case Mnemonic.Fcmovne: case Mnemonic.Fcmovnbe: case Mnemonic.Fcmovnu:
                d.Cond = 13; d.Rm = r1;
                d.Imm = m switch
                {
                    Mnemonic.Fcmovb => 2, Mnemonic.Fcmovnb => 3, Mnemonic.Fcmove => 4, Mnemonic.Fcmovne => 5,
                    Mnemonic.Fcmovbe => 6, Mnemonic.Fcmovnbe => 7, Mnemonic.Fcmovu => 10, _ => 11,
                };
                d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fsin: d.Cond = 20; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fcos: d.Cond = 21; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fsincos: d.Cond = 22; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fptan: d.Cond = 23; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fpatan: d.Cond = 24; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.F2xm1: d.Cond = 25; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fyl2x: d.Cond = 26; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fyl2xp1: d.Cond = 27; d.Exec = &FMisc; return Flow.Continue;
            case Mnemonic.Fnstenv: d.Cond = 0; d.Exec = &X87ControlInstructions.FpuEnv; return Flow.Continue;
            case Mnemonic.Fldenv: d.Cond = 1; d.Exec = &X87ControlInstructions.FpuEnv; return Flow.Continue;
            case Mnemonic.Fnsave: d.Cond = 2; d.Exec = &X87ControlInstructions.FpuEnv; return Flow.Continue;
            case Mnemonic.Frstor: d.Cond = 3; d.Exec = &X87ControlInstructions.FpuEnv; return Flow.Continue;
            default: return Flow.Unsupported;
        }
        // FADD family: memory source -> ST0 op= mem; "fop st(i), st(j)" -> dst i, src j; "fopp st(i), st0" pops.
        if (mem) { d.Reg = 0; }
        else if (ins.OpCount == 2) { d.Reg = r0; d.Rm = r1; }
        else { d.Reg = 1; d.Rm = 0; } // "faddp" with no operands = faddp st(1), st(0)
        if (m is Mnemonic.Faddp or Mnemonic.Fmulp or Mnemonic.Fsubp or Mnemonic.Fsubrp or Mnemonic.Fdivp or Mnemonic.Fdivrp) d.Imm2 |= 1;
        d.Exec = &FArith;
        return Flow.Continue;
    }
}
