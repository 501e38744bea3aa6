using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>MUL, IMUL, DIV, IDIV: their translation and execution (flags the manuals leave undefined as the presented vendor's).</summary>
internal static unsafe class MulDivInstructions
{
    // One-operand forms use rAX (and rDX); Cond: 0 MUL, 1 IMUL, 2 DIV, 3 IDIV.
    // MUL/IMUL: CF = OF = "upper half is significant"; SF ZF AF PF are undefined, DIV/IDIV's flags all are: the
    // presented vendor's (TV, FLAGS.md).

    internal static int MulDiv1<TS, TV>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize where TV : struct, IVendorResults
    {
        ulong src = c.ReadOp0<TS>(ref d);
        int bits = TS.Bytes * 8;
        ulong lo, hi;
        ulong acc = TS.Bytes == 1 ? c.R(0) & 0xFF : TS.GetReg(c, 0, 0);
        ulong accHi = TS.Bytes == 1 ? (c.R(0) >> 8) & 0xFF : TS.GetReg(c, 2, 0);
        switch (d.Cond)
        {
            case 0:
            {
                // One host multiply: a 64-bit operand pair through BigMul (UInt128's operator does three), narrower in a ulong.
                if (bits == 64) hi = Math.BigMul(acc, src, out lo);
                else { ulong p = acc * src; lo = p & TS.Mask; hi = p >> bits; }
                Write(c, lo, hi);
                TV.MultiplyFlags(c, lo, TS.Sign, hi != 0);
                return 0;
            }
            case 1:
            {
                Int128 p = (Int128)(long)TS.SignExtend(acc) * (long)TS.SignExtend(src);
                lo = (ulong)p & TS.Mask; hi = (ulong)(p >> bits) & TS.Mask;
                bool ovf = (Int128)(long)TS.SignExtend(lo) != p;
                Write(c, lo, hi);
                TV.MultiplyFlags(c, lo, TS.Sign, ovf);
                return 0;
            }
            case 2:
            {
                if (src == 0) throw c.Fault(Vec.DE);
                if (bits < 64 || accHi == 0)
                {
                    // The dividend fits a ulong (always below 64 bits; usually at 64, where rDX is often 0): host division.
                    ulong n64 = bits < 64 ? (accHi << bits) | acc : acc;
                    ulong q64 = n64 / src;
                    if (q64 > TS.Mask) throw c.Fault(Vec.DE);
                    Write(c, q64, n64 - q64 * src);
                    TV.DivideFlags(c);
                    return 0;
                }
                UInt128 n = ((UInt128)accHi << bits) | acc;
                UInt128 q = n / src;
                if (q > TS.Mask) throw c.Fault(Vec.DE);
                Write(c, (ulong)q, (ulong)(n % src));
                TV.DivideFlags(c);
                return 0;
            }
            default:
            {
                if (src == 0) throw c.Fault(Vec.DE);
                Int128 n;
                if (bits < 64)
                {
                    int sh = 64 - 2 * bits;
                    n = ((long)(((accHi << bits) | acc) << sh)) >> sh;
                }
                else n = (Int128)(((UInt128)accHi << 64) | acc);
                Int128 dv = (long)TS.SignExtend(src);
                // Int128.MinValue / -1 would throw in .NET: it is a quotient overflow (#DE) for the guest.
                if (dv == -1 && n == Int128.MinValue) throw c.Fault(Vec.DE);
                Int128 q = n / dv, r = n % dv;
                Int128 min = -((Int128)1 << (bits - 1)), max = ((Int128)1 << (bits - 1)) - 1;
                if (q < min || q > max) throw c.Fault(Vec.DE);
                Write(c, (ulong)q & TS.Mask, (ulong)r & TS.Mask);
                TV.DivideFlags(c);
                return 0;
            }
        }

        static void Write(X86Cpu c, ulong lo, ulong hi)
        {
            if (TS.Bytes == 1) S16.SetReg(c, 0, 0, (lo & 0xFF) | ((hi & 0xFF) << 8));
            else { TS.SetReg(c, 0, 0, lo); TS.SetReg(c, 2, 0, hi); }
        }
    }

    /// <summary>IMUL r, r/m and IMUL r, r/m, imm (Imm2 = 1 when the immediate form).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int Imul2<TS, TV>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize where TV : struct, IVendorResults
    {
        ulong b = c.ReadOp1<TS>(ref d);
        ulong a = d.Imm2 != 0 ? d.Imm : TS.GetReg(c, d.Reg, 0);
        long sa = (long)TS.SignExtend(a & TS.Mask), sb = (long)TS.SignExtend(b);
        ulong lo;
        bool ovf;
        if (TS.Bytes == 8)
        {
            long hi = Math.BigMul(sa, sb, out long low);
            lo = (ulong)low;
            ovf = hi != (low >> 63);
        }
        else
        {
            long p = sa * sb; // cannot overflow: both factors fit in 32 bits
            lo = (ulong)p & TS.Mask;
            ovf = (long)TS.SignExtend(lo) != p;
        }
        TS.SetReg(c, d.Reg, 0, lo);
        TV.MultiplyFlags(c, lo, TS.Sign, ovf);
        return 0;
    }

    internal static Flow Translate(in Instruction ins, ProcessorVendor vendor, ref DecodedInstruction d)
    {
        bool amd = vendor == ProcessorVendor.Amd;
        if (ins.Mnemonic == Mnemonic.Imul && ins.OpCount > 1)
        {
            d.Imm2 = ins.OpCount == 3 ? 1UL : 0UL;
            d.Exec = amd ? Translator.BySize(d.OpSize, &Imul2<S16, AmdResults>, &Imul2<S16, AmdResults>, &Imul2<S32, AmdResults>, &Imul2<S64, AmdResults>)
                : Translator.BySize(d.OpSize, &Imul2<S16, IntelResults>, &Imul2<S16, IntelResults>, &Imul2<S32, IntelResults>, &Imul2<S64, IntelResults>);
            return Flow.Continue;
        }
        d.Cond = ins.Mnemonic switch { Mnemonic.Mul => 0, Mnemonic.Imul => 1, Mnemonic.Div => 2, _ => 3 };
        d.Exec = amd ? Translator.BySize(d.OpSize, &MulDiv1<S8, AmdResults>, &MulDiv1<S16, AmdResults>, &MulDiv1<S32, AmdResults>, &MulDiv1<S64, AmdResults>)
            : Translator.BySize(d.OpSize, &MulDiv1<S8, IntelResults>, &MulDiv1<S16, IntelResults>, &MulDiv1<S32, IntelResults>, &MulDiv1<S64, IntelResults>);
        return Flow.Continue;
    }
}
