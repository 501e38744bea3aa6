using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

public sealed unsafe partial class X86Cpu
{
    // ---- x87 environment: FNSTENV/FLDENV (28-byte 32-bit format), FNSAVE/FRSTOR (108 bytes) ----

    /// <summary>FNSTENV (Cond 0), FLDENV (1), FNSAVE (2), FRSTOR (3).</summary>
    internal static int FpuEnv(X86Cpu c, ref DecodedInstruction d)
    {
        if ((c.Arch.Cr0 & (Cr0EM | Cr0TS)) != 0) throw c.Fault(Vec.NM);
        ulong p = c.Lin(ref d);
        var f = c.Arch.Fpu;
        if (d.Cond is 0 or 2)
        {
            c.PtrForWrite(p, 1); c.PtrForWrite(p + (d.Cond == 2 ? 107UL : 27UL), 1); // fault before any change
            c.Store(p, (uint)f.Fcw | 0xFFFF0000); c.Store(p + 4, (uint)f.Fsw | 0xFFFF0000); c.Store(p + 8, (uint)f.Ftw | 0xFFFF0000);
            c.Store(p + 12, (uint)f.Fip); c.Store(p + 16, (uint)f.Fop & 0x7FF); c.Store(p + 20, (uint)f.Fdp); c.Store(p + 24, 0xFFFF0000u);
            if (d.Cond == 2)
            {
                for (int i = 0; i < 8; i++)
                {
                    var v = ToF80(f.St[(c.FpuTop + i) & 7]);
                    c.Store(p + 28 + (ulong)i * 10, v.Mant); c.Store(p + 36 + (ulong)i * 10, v.SignExp);
                }
                f.Fcw = 0x037F; f.Fsw = 0; f.Ftw = 0xFFFF; f.Fip = 0; f.Fdp = 0; f.Fop = 0; // FNSAVE then initializes
            }
            else f.Fcw |= 0x3F; // FNSTENV masks all exceptions afterwards
            return 0;
        }
        ushort fcw = c.Load<ushort>(p), fsw = c.Load<ushort>(p + 4), ftw = c.Load<ushort>(p + 8);
        var regs = new UInt128[8];
        if (d.Cond == 3)
            for (int i = 0; i < 8; i++) regs[i] = ((UInt128)c.Load<ushort>(p + 36 + (ulong)i * 10) << 64) | c.Load<ulong>(p + 28 + (ulong)i * 10);
        f.Fcw = fcw; f.Fsw = fsw; f.Ftw = ftw;
        f.Fip = c.Load<uint>(p + 12); f.Fdp = c.Load<uint>(p + 20);
        if (d.Cond == 3) for (int i = 0; i < 8; i++) f.St[(c.FpuTop + i) & 7] = regs[i];
        return 0;
    }

    private static int MemTypeOf(in Instruction ins) => ins.MemorySize switch
    {
        MemorySize.Float32 => MemF32, MemorySize.Float64 => MemF64, MemorySize.Float80 => MemF80,
        MemorySize.Int16 => MemI16, MemorySize.Int32 => MemI32, _ => MemI64,
    };

    private static byte StIndex(Register r) => (byte)(r - Register.ST0);

    /// <summary>The x87 group: control instructions (X87.cs) and the data/arithmetic ones above.</summary>
    private static Flow TranslateX87Arith(in Instruction ins, ref DecodedInstruction d)
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
            case Mnemonic.Fnstenv: d.Cond = 0; d.Exec = &FpuEnv; return Flow.Continue;
            case Mnemonic.Fldenv: d.Cond = 1; d.Exec = &FpuEnv; return Flow.Continue;
            case Mnemonic.Fnsave: d.Cond = 2; d.Exec = &FpuEnv; return Flow.Continue;
            case Mnemonic.Frstor: d.Cond = 3; d.Exec = &FpuEnv; return Flow.Continue;
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
