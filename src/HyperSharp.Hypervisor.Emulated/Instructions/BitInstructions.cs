using System.Numerics;
using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>BT BTS BTR BTC (Cond 0-3), BSF BSR, POPCNT: their translation and execution.</summary>
internal static unsafe class BitInstructions
{
    internal static int BitTest<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        int bits = TS.Bytes * 8;
        bool immForm = d.Imm2 != 0;
        ulong off = immForm ? d.Imm : TS.GetReg(c, d.Rm, 0);
        ulong r, a, lin = 0;
        int bit;
        bool mem = X86Cpu.IsMem(ref d);
        if (mem)
        {
            // A register bit offset addresses a bit string: signed offset / operand bits selects the unit.
            long unit = immForm ? 0 : (long)TS.SignExtend(off) >> BitOperations.Log2((uint)bits);
            bit = (int)(off & (ulong)(bits - 1));
            lin = (c.Lin(ref d) + (ulong)(unit * TS.Bytes)) & c.Mode.LinMask;
            a = TS.Load(c, lin);
        }
        else
        {
            bit = (int)(off & (ulong)(bits - 1));
            a = TS.GetReg(c, d.Reg, 0);
        }
        bool cf = ((a >> bit) & 1) != 0;
        if (d.Cond != 0)
        {
            ulong m = 1UL << bit;
            r = d.Cond switch { 1 => a | m, 2 => a & ~m, _ => a ^ m };
            if (mem)
            {
                if ((d.Flags & InstrFlags.Lock) != 0)
                {
                    byte* p = c.PtrForWrite(lin, TS.Bytes);
                    if (p != null)
                    {
                        a = TS.Cas(p, 0, 0) & TS.Mask;
                        while (true)
                        {
                            r = d.Cond switch { 1 => a | m, 2 => a & ~m, _ => a ^ m };
                            ulong seen = TS.Cas(p, r, a) & TS.Mask;
                            if (seen == a) break;
                            a = seen;
                        }
                        cf = ((a >> bit) & 1) != 0;
                    }
                    else lock (LinearMemory.SplitLock) TS.Store(c, lin, r);
                }
                else TS.Store(c, lin, r);
            }
            else TS.SetReg(c, d.Reg, 0, r);
        }
        c.Flags.SetCarry(cf); // OF SF AF PF are undefined: left unchanged, ZF unchanged
        return 0;
    }

    /// <summary>
    /// BSF (Cond 0) / BSR (Cond 1): a zero source sets ZF and leaves the destination unchanged (all 64 bits). The flags
    /// the SDM leaves undefined are, on Intel and AMD alike, those of a logical operation on the bit index (on 0 for a
    /// zero source): CF = OF = SF = AF = 0, PF from the index; ZF says whether the source was zero (FLAGS.md).
    /// </summary>
    internal static int BitScan<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong v = c.ReadOp1<TS>(ref d);
        if (v == 0) { c.Flags.SetResult(0, TS.Sign, false, false); return 0; }
        ulong index = d.Cond == 0 ? (ulong)BitOperations.TrailingZeroCount(v) : (ulong)(63 - BitOperations.LeadingZeroCount(v));
        TS.SetReg(c, d.Reg, 0, index);
        c.Flags.SetResultNotZero(index, TS.Sign, false, false);
        return 0;
    }

    internal static int Popcnt<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong v = c.ReadOp1<TS>(ref d);
        TS.SetReg(c, d.Reg, 0, (ulong)BitOperations.PopCount(v));
        c.Flags.SetStatus(v == 0 ? Rf.ZF : 0); // status flags only: not the full RFLAGS write (privilege key, AC)
        return 0;
    }

    internal static Flow Translate(in Instruction ins, ref DecodedInstruction d)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Bt: case Mnemonic.Bts: case Mnemonic.Btr: case Mnemonic.Btc:
                d.Cond = ins.Mnemonic switch { Mnemonic.Bt => 0, Mnemonic.Bts => 1, Mnemonic.Btr => 2, _ => 3 };
                d.Imm2 = ins.Op1Kind == OpKind.Register ? 0UL : 1UL;
                d.Exec = Translator.BySize(d.OpSize, &BitTest<S16>, &BitTest<S16>, &BitTest<S32>, &BitTest<S64>);
                return Flow.Continue;
            // TZCNT/LZCNT are not advertised (no BMI1/ABM in CPUID), so they run as the BSF/BSR they
            // decode as on such processors.
            case Mnemonic.Bsf: case Mnemonic.Tzcnt:
                d.Cond = 0; d.Exec = Translator.BySize(d.OpSize, &BitScan<S16>, &BitScan<S16>, &BitScan<S32>, &BitScan<S64>); return Flow.Continue;
            case Mnemonic.Bsr: case Mnemonic.Lzcnt:
                d.Cond = 1; d.Exec = Translator.BySize(d.OpSize, &BitScan<S16>, &BitScan<S16>, &BitScan<S32>, &BitScan<S64>); return Flow.Continue;
            case Mnemonic.Popcnt:
                d.Exec = Translator.BySize(d.OpSize, &Popcnt<S16>, &Popcnt<S16>, &Popcnt<S32>, &Popcnt<S64>); return Flow.Continue;
        }
        return Flow.Unsupported;
    }
}
