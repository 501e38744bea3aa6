using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>Shifts and rotates (ROL ROR RCL RCR SHL SHR SAR, SHLD SHRD): their translation and execution.</summary>
internal static unsafe class ShiftInstructions
{
    // ---- ROL ROR RCL RCR SHL SHR SAL SAR (Cond = /r field 0-7), SHLD SHRD ----
    // Count: CL when Imm2 = 1, else Imm; masked to 5 bits (6 for 64-bit). A masked count of 0 changes
    // nothing (flags included). Flags the SDM leaves undefined (OF for counts > 1, AF) are the presented
    // vendor's (TV, FLAGS.md): OF by the count-1 formula on the first step (the operand) or on the last one
    // (the result); both give the architectural value for a count of 1.

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int Shift<TS, TV>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize where TV : struct, IVendorResults
    {
        int bits = TS.Bytes * 8;
        int cnt = (int)((d.Imm2 != 0 ? c.R(1) : d.Imm) & (bits == 64 ? 63UL : 31UL));
        if (cnt == 0)
        {
            if (!X86Cpu.IsMem(ref d) && TS.Bytes == 4) TS.SetReg(c, d.Reg, 0, TS.GetReg(c, d.Reg, 0)); // still zero-extends
            return 0;
        }
        bool mem = X86Cpu.IsMem(ref d);
        ulong lin = mem ? c.Lin(ref d) : 0;
        ulong a = mem ? TS.Load(c, lin) : TS.GetReg(c, d.Reg, d.RegShift);
        ulong m = TS.Mask, sign = TS.Sign, r;
        bool cf, of;
        switch (d.Cond)
        {
            case 0: // ROL
            {
                int k = cnt % bits;
                r = ((a << k) | (a >> ((bits - k) % bits))) & m;
                cf = (r & 1) != 0;
                of = TV.OverflowFromOperand ? ((a ^ (a << 1)) & sign) != 0 : ((r & sign) != 0) ^ cf;
                Commit(c, ref d, mem, lin, r);
                if (TV.RegisterRotateByImmediateKeepsOverflow && !mem && d.Imm2 == 0 && cnt != 1) c.Flags.SetCarry(cf);
                else c.Flags.SetCarryAndOverflow(cf, of);
                return 0;
            }
            case 1: // ROR
            {
                int k = cnt % bits;
                r = ((a >> k) | (a << ((bits - k) % bits))) & m;
                cf = (r & sign) != 0;
                of = TV.OverflowFromOperand ? ((a ^ (a << (bits - 1))) & sign) != 0 : cf ^ ((r & (sign >> 1)) != 0);
                Commit(c, ref d, mem, lin, r);
                if (TV.RegisterRotateByImmediateKeepsOverflow && !mem && d.Imm2 == 0 && cnt != 1) c.Flags.SetCarry(cf);
                else c.Flags.SetCarryAndOverflow(cf, of);
                return 0;
            }
            case 2: // RCL: rotate the (bits+1)-bit value CF:a left
            case 3: // RCR
            {
                int k = cnt % (bits + 1);
                bool cin = c.Flags.CF;
                UInt128 w = ((UInt128)(cin ? 1UL : 0) << bits) | a;
                UInt128 all = ((UInt128)1 << (bits + 1)) - 1;
                if (k != 0)
                    w = d.Cond == 2 ? ((w << k) | (w >> (bits + 1 - k))) & all : ((w >> k) | (w << (bits + 1 - k))) & all;
                r = (ulong)(w & m);
                Commit(c, ref d, mem, lin, r);
                if (k == 0 && TV.NoRotationKeepsFlags) return 0; // a byte/word rotated by 9/17: nothing moved
                cf = ((w >> bits) & 1) != 0;
                if (TV.OverflowFromOperand) of = d.Cond == 2 ? ((a ^ (a << 1)) & sign) != 0 : ((a & sign) != 0) ^ cin;
                else of = d.Cond == 2 ? ((r & sign) != 0) ^ cf : ((r & sign) != 0) ^ ((r & (sign >> 1)) != 0);
                c.Flags.SetCarryAndOverflow(cf, of);
                return 0;
            }
            case 4:
            case 6: // SHL/SAL
                r = cnt >= 64 ? 0 : (a << cnt) & m;
                cf = cnt <= bits && ((a >> (bits - cnt)) & 1) != 0; // beyond the width the bit shifted out is 0
                of = TV.OverflowFromOperand ? ((a ^ (a << 1)) & sign) != 0 : ((r & sign) != 0) ^ cf;
                break;
            case 5: // SHR
                r = cnt >= 64 ? 0 : a >> cnt;
                cf = ((a >> (cnt - 1)) & 1) != 0;
                of = TV.OverflowFromOperand ? (a & sign) != 0 : ((r ^ (r << 1)) & sign) != 0;
                break;
            default: // SAR
            {
                long s = (long)TS.SignExtend(a);
                r = (ulong)(s >> Math.Min(cnt, 63)) & m;
                cf = ((s >> Math.Min(cnt - 1, 63)) & 1) != 0;
                of = false;
                break;
            }
        }
        Commit(c, ref d, mem, lin, r);
        c.Flags.SetResult(r, sign, cf, of, TV.ShiftAuxiliaryCarry);
        return 0;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        static void Commit(X86Cpu c, ref DecodedInstruction d, bool mem, ulong lin, ulong r)
        {
            if (mem) TS.Store(c, lin, r); else TS.SetReg(c, d.Reg, d.RegShift, r);
        }
    }

    /// <summary>SHLD (Cond 0) / SHRD (Cond 1) dst, src(Rm), count.</summary>
    internal static int ShiftDouble<TS, TV>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize where TV : struct, IVendorResults
    {
        int bits = TS.Bytes * 8;
        int cnt = (int)((d.Imm2 != 0 ? c.R(1) : d.Imm) & (bits == 64 ? 63UL : 31UL));
        if (cnt == 0)
        {
            if (!X86Cpu.IsMem(ref d) && TS.Bytes == 4) TS.SetReg(c, d.Reg, 0, TS.GetReg(c, d.Reg, 0));
            return 0;
        }
        bool mem = X86Cpu.IsMem(ref d);
        ulong lin = mem ? c.Lin(ref d) : 0;
        ulong a = mem ? TS.Load(c, lin) : TS.GetReg(c, d.Reg, 0);
        ulong b = TS.GetReg(c, d.Rm, 0);
        ulong r;
        bool cf;
        if (bits == 16)
        {
            // 16-bit counts above 16 are undefined; we shift through the 48-bit pattern a:b:a (see FLAGS.md).
            ulong w = (a << 32) | (b << 16) | a;
            r = (d.Cond == 0 ? w >> (32 - cnt) : w >> cnt) & 0xFFFF;
            cf = ((d.Cond == 0 ? w >> (48 - cnt) : w >> (cnt - 1)) & 1) != 0;
        }
        else if (d.Cond == 0) // SHLD: 0 < cnt < bits here
        {
            r = ((a << cnt) | (b >> (bits - cnt))) & TS.Mask;
            cf = ((a >> (bits - cnt)) & 1) != 0;
        }
        else
        {
            r = ((a >> cnt) | (b << (bits - cnt))) & TS.Mask;
            cf = ((a >> (cnt - 1)) & 1) != 0;
        }
        ulong sign = TS.Sign;
        bool of = TV.OverflowFromOperand
            ? ((a ^ (d.Cond == 0 ? a << 1 : b << (bits - 1))) & sign) != 0 // the first bit shifted in: a's next bit, or b's bit 0
            : d.Cond == 0 ? ((r & sign) != 0) ^ cf : ((r ^ (r << 1)) & sign) != 0;
        if (mem) TS.Store(c, lin, r); else TS.SetReg(c, d.Reg, 0, r);
        c.Flags.SetResult(r, sign, cf, of, TV.ShiftAuxiliaryCarry);
        return 0;
    }

    internal static Flow Translate(in Instruction ins, ProcessorVendor vendor, ref DecodedInstruction d)
    {
        bool dbl = ins.Mnemonic is Mnemonic.Shld or Mnemonic.Shrd;
        d.Cond = ins.Mnemonic switch
        {
            Mnemonic.Rol => 0, Mnemonic.Ror => 1, Mnemonic.Rcl => 2, Mnemonic.Rcr => 3,
            Mnemonic.Shl => 4, Mnemonic.Shr => 5, Mnemonic.Sal => 6, Mnemonic.Sar => 7,
            Mnemonic.Shld => 0, Mnemonic.Shrd => 1, _ => 255,
        };
        if (d.Cond == 255) return Flow.Unsupported;
        int countOp = dbl ? 2 : 1;
        if (ins.GetOpKind(countOp) == OpKind.Register) d.Imm2 = 1; // CL
        else d.Imm = ins.GetImmediate(countOp);
        d.Exec = (dbl, vendor) switch
        {
            (true, ProcessorVendor.Amd) => Translator.BySize(d.OpSize, &ShiftDouble<S16, AmdResults>, &ShiftDouble<S16, AmdResults>, &ShiftDouble<S32, AmdResults>, &ShiftDouble<S64, AmdResults>),
            (true, _) => Translator.BySize(d.OpSize, &ShiftDouble<S16, IntelResults>, &ShiftDouble<S16, IntelResults>, &ShiftDouble<S32, IntelResults>, &ShiftDouble<S64, IntelResults>),
            (false, ProcessorVendor.Amd) => Translator.BySize(d.OpSize, &Shift<S8, AmdResults>, &Shift<S16, AmdResults>, &Shift<S32, AmdResults>, &Shift<S64, AmdResults>),
            (false, _) => Translator.BySize(d.OpSize, &Shift<S8, IntelResults>, &Shift<S16, IntelResults>, &Shift<S32, IntelResults>, &Shift<S64, IntelResults>),
        };
        return Flow.Continue;
    }
}
