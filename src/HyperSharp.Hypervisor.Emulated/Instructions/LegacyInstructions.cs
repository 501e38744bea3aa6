using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>ENTER XLAT PUSHA POPA, INS OUTS, the BCD adjusts, LMSW SMSW CLTS, LAR LSL VERR VERW: their translation and execution.</summary>
internal static unsafe class LegacyInstructions
{
    internal static int Enter<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong size = d.Imm & 0xFFFF;
        int level = (int)(d.Imm2 & 31);
        ulong oldSp = c.R(4), oldBp = c.R(5);
        try
        {
            c.Push<TS>(oldBp);
            ulong frame = c.R(4) & c.Mode.StackMask;
            for (int i = 1; i < level; i++)
            {
                ulong bp = (oldBp - (ulong)(i * TS.Bytes)) & c.Mode.StackMask;
                c.Push<TS>(TS.Load(c, c.Lin((int)Seg.Ss, bp)));
            }
            if (level > 0) c.Push<TS>(frame);
            c.AdjustSp(0 - size);
            TS.SetReg(c, 5, 0, frame);
        }
        catch (GuestFault) { c.R(4) = oldSp; c.R(5) = oldBp; throw; }
        return 0;
    }

    internal static int Xlat(X86Cpu c, ref DecodedInstruction d)
    {
        ulong ea = (c.R(d.Base) + (c.R(0) & 0xFF)) & d.AddrMask;
        S8.SetReg(c, 0, 0, c.Load<byte>(c.Lin(d.Seg, ea)));
        return 0;
    }

    internal static int Pusha<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong oldSp = c.R(4);
        try { for (int i = 0; i < 8; i++) c.Push<TS>(i == 4 ? oldSp : c.R(i)); }
        catch (GuestFault) { c.R(4) = oldSp; throw; }
        return 0;
    }

    internal static int Popa<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        var v = stackalloc ulong[8];
        for (int i = 0; i < 8; i++) v[7 - i] = c.PeekStack<TS>((ulong)(i * TS.Bytes));
        for (int i = 0; i < 8; i++) if (i != 4) TS.SetReg(c, i, 0, v[i]);
        c.AdjustSp((ulong)(8 * TS.Bytes));
        return 0;
    }

    /// <summary>INS (Cond 0) / OUTS (1), with REP; the port is DX.</summary>
    internal static int StringIo<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ushort port = (ushort)c.R(2);
        SystemInstructions.CheckIoPermission(c, port, TS.Bytes);
        ulong m = d.AddrMask;
        bool rep = (d.Flags & (InstrFlags.Rep | InstrFlags.Repne)) != 0;
        ulong step = (c.Flags.Rflags & Rf.DF) != 0 ? (ulong)-TS.Bytes : (ulong)TS.Bytes;
        while (!rep || (c.R(1) & m) != 0)
        {
            if (d.Cond == 0)
            {
                ulong lin = c.Lin((int)Seg.Es, c.R(7) & m);
                c.PtrForWrite(lin, TS.Bytes); // fault before the port read has a side effect
                TS.Store(c, lin, c._io.PortRead(port, TS.Bytes));
                StringInstructions.SetIndex(ref c.R(7), c.R(7) + step, m);
            }
            else
            {
                uint v = (uint)TS.Load(c, c.Lin(d.Seg, c.R(6) & m));
                c._io.PortWrite(port, TS.Bytes, v);
                StringInstructions.SetIndex(ref c.R(6), c.R(6) + step, m);
            }
            if (!rep) break;
            StringInstructions.SetIndex(ref c.R(1), c.R(1) - 1, m);
        }
        return 0;
    }

    /// <summary>DAA (Cond 0), DAS (1), AAA (2), AAS (3), AAM (4), AAD (5); Imm = AAM/AAD base.</summary>
    internal static int Bcd(X86Cpu c, ref DecodedInstruction d)
    {
        c.Flags.Materialize();
        ulong al = c.R(0) & 0xFF, ah = (c.R(0) >> 8) & 0xFF;
        bool cf = (c.Flags.Rflags & Rf.CF) != 0, af = (c.Flags.Rflags & Rf.AF) != 0;
        bool ncf = false, naf = false;
        switch (d.Cond)
        {
            case 0:
            case 1:
            {
                ulong old = al;
                bool sub = d.Cond == 1;
                if ((al & 0xF) > 9 || af) { ncf = cf || (sub ? al < 6 : al + 6 > 0xFF); al = (sub ? al - 6 : al + 6) & 0xFF; naf = true; }
                if (old > 0x99 || cf) { al = (sub ? al - 0x60 : al + 0x60) & 0xFF; ncf = true; }
                break;
            }
            case 2:
            case 3:
                if ((al & 0xF) > 9 || af)
                {
                    ulong ax = (ah << 8) | al;
                    ax = d.Cond == 2 ? ax + 0x106 : ax - 6 - 0x100;
                    ah = (ax >> 8) & 0xFF; al = ax & 0xFF; ncf = naf = true;
                }
                al &= 0xF;
                break;
            case 4:
                if ((d.Imm & 0xFF) == 0) throw c.Fault(Vec.DE);
                ah = al / (d.Imm & 0xFF); al %= d.Imm & 0xFF;
                break;
            default:
                al = (al + ah * (d.Imm & 0xFF)) & 0xFF; ah = 0;
                break;
        }
        S16.SetReg(c, 0, 0, (ah << 8) | al);
        c.Flags.SetResult(al, 0x80, ncf, false, naf);
        return 0;
    }

    /// <summary>LMSW (Cond 0), SMSW (1), CLTS (2).</summary>
    internal static int MachineStatus(X86Cpu c, ref DecodedInstruction d)
    {
        if (d.Cond == 1)
        {
            if (X86Cpu.IsMem(ref d)) S16.Store(c, c.Lin(ref d), c.Arch.Cr0 & 0xFFFF);
            else if (d.OpSize == 2) S16.SetReg(c, d.Reg, 0, c.Arch.Cr0);
            else c.R(d.Reg) = d.OpSize == 4 ? (uint)c.Arch.Cr0 : c.Arch.Cr0;
            return 0;
        }
        c.RequireCpl0();
        if (d.Cond == 2) c.Arch.Cr0 &= ~ControlRegisters.Cr0TS;
        else
        {
            ulong v = c.ReadOp0<S16>(ref d) & 0xF;
            ControlRegisters.WriteCr0(c, (c.Arch.Cr0 & ~0xEUL) | v | (c.Arch.Cr0 & ControlRegisters.Cr0PE)); // LMSW cannot clear PE
        }
        SystemInstructions.Next(c, ref d);
        return 1;
    }

    /// <summary>LAR (Cond 0), LSL (1), VERR (2), VERW (3): ZF = 1 when the selector qualifies; never fault on it.</summary>
    internal static int SegQuery(X86Cpu c, ref DecodedInstruction d)
    {
        if (!c.Mode.Protected || (c.Flags.Rflags & Rf.VM) != 0) throw c.Fault(Vec.UD);
        ushort sel = (ushort)(d.Cond >= 2 ? c.ReadOp0<S16>(ref d) : c.ReadOp1<S16>(ref d));
        bool ok = false;
        ulong desc = 0;
        bool ldt = (sel & 4) != 0;
        ulong limit = ldt ? c.Arch.Ldtr.Limit : c.Arch.Gdtr.Limit;
        if ((sel & 0xFFFC) != 0 && (ulong)(sel & 0xFFF8) + 7 <= limit)
        {
            desc = c.LoadSystem<ulong>((ldt ? c.Arch.Ldtr.Base : c.Arch.Gdtr.Base) + (ulong)(sel & 0xFFF8));
            var s = State.SegmentRegister.FromDescriptor(sel, desc);
            bool code = !s.IsSystem && (s.Type & 8) != 0, conforming = code && (s.Type & 4) != 0;
            bool privOk = conforming || (s.Dpl >= c.Mode.Cpl && s.Dpl >= (sel & 3));
            ok = d.Cond switch
            {
                0 => privOk && (!s.IsSystem || s.Type is 2 or 9 or 0xB or 0xC || (!c.Mode.LongMode && s.Type is 1 or 3 or 4 or 5)),
                1 => privOk && (!s.IsSystem || s.Type is 2 or 9 or 0xB || (!c.Mode.LongMode && s.Type is 1 or 3)),
                2 => !s.IsSystem && privOk && (!code || (s.Type & 2) != 0),
                _ => !s.IsSystem && !code && privOk && (s.Type & 2) != 0,
            };
            if (ok && d.Cond == 0) WriteOp0Sized(c, ref d, (desc >> 32) & 0x00F0FF00);
            if (ok && d.Cond == 1) WriteOp0Sized(c, ref d, s.Limit);
        }
        c.Flags.Materialize();
        c.Flags.Rflags = ok ? c.Flags.Rflags | Rf.ZF : c.Flags.Rflags & ~Rf.ZF;
        return 0;
    }

    private static void WriteOp0Sized(X86Cpu c, ref DecodedInstruction d, ulong v)
    {
        if (d.OpSize == 2) S16.SetReg(c, d.Reg, 0, v); else if (d.OpSize == 4) S32.SetReg(c, d.Reg, 0, v); else c.R(d.Reg) = v;
    }

    internal static Flow Translate(in Instruction ins, int bitness, ref DecodedInstruction d)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Enter:
            {
                int sz = ins.OpCode.OperandSize is var os && os != 0 ? os / 8 : bitness == 64 ? 8 : bitness / 8;
                d.Exec = Translator.BySize(sz, &Enter<S16>, &Enter<S16>, &Enter<S32>, &Enter<S64>); return Flow.Continue;
            }
            case Mnemonic.Xlatb: d.Exec = &Xlat; return Flow.Continue;
            case Mnemonic.Pusha: d.Exec = &Pusha<S16>; return Flow.Continue;
            case Mnemonic.Pushad: d.Exec = &Pusha<S32>; return Flow.Continue;
            case Mnemonic.Popa: d.Exec = &Popa<S16>; return Flow.Continue;
            case Mnemonic.Popad: d.Exec = &Popa<S32>; return Flow.Continue;
            case Mnemonic.Insb: case Mnemonic.Insw: case Mnemonic.Insd:
            case Mnemonic.Outsb: case Mnemonic.Outsw: case Mnemonic.Outsd:
            {
                d.Cond = (byte)(ins.Mnemonic is Mnemonic.Insb or Mnemonic.Insw or Mnemonic.Insd ? 0 : 1);
                char last = ins.Mnemonic.ToString()[^1];
                d.Exec = last == 'b' ? &StringIo<S8> : last == 'w' ? &StringIo<S16> : &StringIo<S32>;
                return Flow.EndBlock; // like IN/OUT: a stop requested during the access leaves Run just past the instruction

            }
            case Mnemonic.Daa: d.Cond = 0; d.Exec = &Bcd; return Flow.Continue;
            case Mnemonic.Das: d.Cond = 1; d.Exec = &Bcd; return Flow.Continue;
            case Mnemonic.Aaa: d.Cond = 2; d.Exec = &Bcd; return Flow.Continue;
            case Mnemonic.Aas: d.Cond = 3; d.Exec = &Bcd; return Flow.Continue;
            case Mnemonic.Aam: d.Cond = 4; d.Exec = &Bcd; return Flow.Continue;
            case Mnemonic.Aad: d.Cond = 5; d.Exec = &Bcd; return Flow.Continue;
            case Mnemonic.Lmsw: d.Cond = 0; d.Exec = &MachineStatus; return Flow.EndBlock;
            case Mnemonic.Smsw: d.Cond = 1; d.Exec = &MachineStatus; return Flow.Continue;
            case Mnemonic.Clts: d.Cond = 2; d.Exec = &MachineStatus; return Flow.EndBlock;
            case Mnemonic.Lar: d.Cond = 0; d.Exec = &SegQuery; return Flow.Continue;
            case Mnemonic.Lsl: d.Cond = 1; d.Exec = &SegQuery; return Flow.Continue;
            case Mnemonic.Verr: d.Cond = 2; d.Exec = &SegQuery; return Flow.Continue;
            case Mnemonic.Verw: d.Cond = 3; d.Exec = &SegQuery; return Flow.Continue;
        }
        return Flow.Unsupported;
    }
}
