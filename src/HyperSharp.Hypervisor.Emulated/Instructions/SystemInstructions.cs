using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;
using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>Privileged and system instructions (HLT CLI STI CPUID RDTSC RDMSR WRMSR, MOV to and from CR/DR/Sreg, the
/// descriptor-table instructions, INVLPG, IN OUT): their translation and execution. Most end the block because they
/// change mode or mappings.</summary>
internal static unsafe class SystemInstructions
{
    /// <summary>Advances RIP past the instruction (for handlers that leave the block themselves).</summary>
    internal static void Next(X86Cpu c, ref DecodedInstruction d) => c.R(DecodedInstruction.RipIndex) += d.Len;

    internal static int Hlt(X86Cpu c, ref DecodedInstruction d) { c.RequireCpl0(); Next(c, ref d); c._halted = true; return 1; }

    internal static int Cli(X86Cpu c, ref DecodedInstruction d)
    {
        if (c.Mode.Protected && c.Mode.Cpl > (int)((c.Flags.Rflags >> 12) & 3)) throw c.Fault(Vec.GP, 0);
        c.Flags.Rflags &= ~Rf.IF;
        return 0;
    }

    internal static int Sti(X86Cpu c, ref DecodedInstruction d)
    {
        if (c.Mode.Protected && c.Mode.Cpl > (int)((c.Flags.Rflags >> 12) & 3)) throw c.Fault(Vec.GP, 0);
        if ((c.Flags.Rflags & Rf.IF) == 0) c._shadow = true; // interrupts wait until after the next instruction
        c.Flags.Rflags |= Rf.IF;
        Next(c, ref d);
        return 1;
    }

    internal static int Cpuid(X86Cpu c, ref DecodedInstruction d)
    {
        c.Model.Query((uint)c.R(0), (uint)c.R(1), c.ApicId, out uint a, out uint b, out uint cx, out uint dx);
        c.R(0) = a; c.R(3) = b; c.R(1) = cx; c.R(2) = dx;
        return 0;
    }

    internal static int Rdtsc(X86Cpu c, ref DecodedInstruction d)
    {
        if ((c.Arch.Cr4 & ControlRegisters.Cr4TSD) != 0 && c.Mode.Cpl != 0) throw c.Fault(Vec.GP, 0);
        ulong t = c.Tsc;
        c.R(0) = (uint)t; c.R(2) = t >> 32;
        if (d.Cond == 1) c.R(1) = (uint)c.Arch.TscAux; // RDTSCP
        return 0;
    }

    internal static int Rdmsr(X86Cpu c, ref DecodedInstruction d)
    {
        c.RequireCpl0();
        if (!c.TryReadMsr((uint)c.R(1), out ulong v)) throw c.Fault(Vec.GP, 0);
        c.R(0) = (uint)v; c.R(2) = v >> 32;
        return 0;
    }

    internal static int Wrmsr(X86Cpu c, ref DecodedInstruction d)
    {
        c.RequireCpl0();
        if (!c.TryWriteMsr((uint)c.R(1), (uint)c.R(0) | (c.R(2) << 32))) throw c.Fault(Vec.GP, 0);
        Next(c, ref d);
        return 1;
    }

    /// <summary>MOV to/from CRn (Cond 0 = read into Reg, 1 = write from Rm).</summary>
    internal static int MovCr(X86Cpu c, ref DecodedInstruction d)
    {
        c.RequireCpl0();
        if (d.Cond == 0)
        {
            c.R(d.Reg) = d.Rm switch { 0 => c.Arch.Cr0, 2 => c.Arch.Cr2, 3 => c.Arch.Cr3, 4 => c.Arch.Cr4, 8 => c.Arch.Cr8, _ => throw c.Fault(Vec.UD) };
            return 0;
        }
        ulong v = c.R(d.Rm);
        if (c.Mode.Bitness != 64) v = (uint)v;
        switch (d.Reg)
        {
            case 0: ControlRegisters.WriteCr0(c, v); break;
            case 2: c.Arch.Cr2 = v; break;
            case 3: ControlRegisters.WriteCr3(c, v); break;
            case 4: ControlRegisters.WriteCr4(c, v); break;
            case 8: if (v > 15) throw c.Fault(Vec.GP, 0); c.Arch.Cr8 = v; break;
            default: throw c.Fault(Vec.UD);
        }
        Next(c, ref d);
        return 1;
    }

    /// <summary>MOV to/from DRn (Cond 0 read, 1 write). Breakpoints are stored, not yet armed.</summary>
    internal static int MovDr(X86Cpu c, ref DecodedInstruction d)
    {
        c.RequireCpl0();
        int n = d.Cond == 0 ? d.Rm : d.Reg;
        if (n > 7) throw c.Fault(Vec.UD); // DR8-15 do not exist
        if (n is 4 or 5) { if ((c.Arch.Cr4 & ControlRegisters.Cr4DE) != 0) throw c.Fault(Vec.UD); n += 2; }
        if (d.Cond == 0) { c.R(d.Reg) = c.Arch.Dr[n]; return 0; }
        ulong v = c.R(d.Rm);
        if ((n == 6 || n == 7) && (v >> 32) != 0) throw c.Fault(Vec.GP, 0);
        c.Arch.Dr[n] = n == 6 ? v | 0xFFFF0FF0 : n == 7 ? (v | 0x400) & ~0x2000UL : v;
        if (n == 6) return 0;
        c.UpdateBreakpoints();
        Next(c, ref d);
        return 1; // breakpoints may now apply from the next instruction on: leave the block
    }

    /// <summary>MOV Sreg, r/m (Cond 1) or MOV r/m, Sreg (Cond 0).</summary>
    internal static int MovSreg(X86Cpu c, ref DecodedInstruction d)
    {
        if (d.Cond == 0)
        {
            ushort sel = c.Arch.Seg[d.Rm].Selector;
            if (X86Cpu.IsMem(ref d)) S16.Store(c, c.Lin(ref d), sel);
            else if (d.OpSize == 2) S16.SetReg(c, d.Reg, 0, sel);
            else c.R(d.Reg) = sel;
            return 0;
        }
        if (d.Reg == (int)Seg.Cs) throw c.Fault(Vec.UD);
        ushort v = (ushort)c.ReadOp1<S16>(ref d);
        Segmentation.LoadSegment(c, d.Reg, v);
        if (d.Reg == (int)Seg.Ss) c._shadow = c._ssLoaded = true;
        Next(c, ref d);
        return 1;
    }

    /// <summary>LGDT (Cond 0), LIDT (1), SGDT (2), SIDT (3).</summary>
    internal static int DescTable(X86Cpu c, ref DecodedInstruction d)
    {
        ulong lin = c.Lin(ref d);
        ref DescriptorTableRegister t = ref (d.Cond & 1) == 0 ? ref c.Arch.Gdtr : ref c.Arch.Idtr;
        if (d.Cond >= 2)
        {
            c.Store(lin, (ushort)t.Limit);
            if (c.Mode.Bitness == 64) c.Store(lin + 2, t.Base); else c.Store(lin + 2, (uint)t.Base);
            return 0;
        }
        c.RequireCpl0();
        ushort limit = c.Load<ushort>(lin);
        ulong b = c.Mode.Bitness == 64 ? c.Load<ulong>(lin + 2) : c.Load<uint>(lin + 2);
        if (c.Mode.Bitness != 64 && d.OpSize == 2) b &= 0xFFFFFF;
        t = new DescriptorTableRegister(b, limit);
        return 0;
    }

    /// <summary>LLDT (Cond 0), LTR (1), SLDT (2), STR (3).</summary>
    internal static int SysSeg(X86Cpu c, ref DecodedInstruction d)
    {
        if (!c.Mode.Protected || (c.Flags.Rflags & Rf.VM) != 0) throw c.Fault(Vec.UD);
        if (d.Cond >= 2)
        {
            ushort s = d.Cond == 2 ? c.Arch.Ldtr.Selector : c.Arch.Tr.Selector;
            if (X86Cpu.IsMem(ref d)) S16.Store(c, c.Lin(ref d), s); else c.R(d.Reg) = s;
            return 0;
        }
        c.RequireCpl0();
        ushort sel = (ushort)c.ReadOp0<S16>(ref d);
        if (d.Cond == 0 && (sel & 0xFFFC) == 0) { c.Arch.Ldtr = new SegmentRegister(sel, 0, 0, 0); return 0; }
        if ((sel & 4) != 0 || (sel & 0xFFFC) == 0) throw c.Fault(Vec.GP, sel & 0xFFFCu);
        ulong desc = Segmentation.ReadDescriptor(c, sel, 0, out ulong addr);
        ulong high = c.Mode.LongMode ? c.LoadSystem<ulong>(addr + 8) : 0;
        var s2 = SegmentRegister.FromDescriptor(sel, desc, high);
        int wantType = d.Cond == 0 ? 2 : (c.Mode.LongMode ? 9 : -1);
        bool typeOk = d.Cond == 0 ? s2.Type == 2 : (c.Mode.LongMode ? s2.Type == 9 : s2.Type is 1 or 9);
        if (!s2.IsSystem || !typeOk || wantType == 0) throw c.Fault(Vec.GP, sel & 0xFFFCu);
        if (!s2.Present) throw c.Fault(Vec.NP, sel & 0xFFFCu);
        if (d.Cond == 0) c.Arch.Ldtr = s2;
        else
        {
            c.StoreSystem(addr + 5, (byte)((desc >> 40) | 2)); // mark the TSS busy
            s2.Attributes |= 2;
            c.Arch.Tr = s2;
        }
        return 0;
    }

    internal static int Invlpg(X86Cpu c, ref DecodedInstruction d)
    {
        c.RequireCpl0();
        c.FlushTlbPage(c.Lin(ref d));
        Next(c, ref d);
        return 1;
    }

    internal static int Privileged(X86Cpu c, ref DecodedInstruction d) { c.RequireCpl0(); return 0; }

    /// <summary>IN (Cond 0) / OUT (1); port in DX (Imm2 = 1) or Imm. Calls the VMM's handler synchronously.</summary>
    internal static int PortIo(X86Cpu c, ref DecodedInstruction d)
    {
        ushort port = d.Imm2 == 1 ? (ushort)c.R(2) : (ushort)d.Imm;
        int size = d.OpSize;
        CheckIoPermission(c, port, size);
        if (d.Cond == 0)
        {
            uint v = c._io.PortRead(port, size);
            if (size == 1) S8.SetReg(c, 0, 0, v); else if (size == 2) S16.SetReg(c, 0, 0, v); else c.R(0) = v;
        }
        else c._io.PortWrite(port, size, (uint)c.R(0) & (size == 4 ? 0xFFFFFFFF : (1u << (size * 8)) - 1));
        return 0;
    }

    /// <summary>Protected mode with CPL &gt; IOPL (or VM86): every port byte must be allowed by the TSS I/O bitmap.</summary>
    internal static void CheckIoPermission(X86Cpu c, ushort port, int size)
    {
        if (!c.Mode.Protected || (c.Mode.Cpl <= (int)((c.Flags.Rflags >> 12) & 3) && (c.Flags.Rflags & Rf.VM) == 0)) return;
        bool tss = !c.Arch.Tr.IsSystem ? false : (c.Arch.Tr.Type & 0x9) == 0x9; // 32/64-bit TSS (available or busy)
        if (!tss || c.Arch.Tr.Limit < 0x67) throw c.Fault(Vec.GP, 0);
        ulong bitmap = c.LoadSystem<ushort>(c.Arch.Tr.Base + 0x66);
        ulong first = bitmap + (ulong)(port >> 3);
        if (first + 1 > c.Arch.Tr.Limit) throw c.Fault(Vec.GP, 0); // the two bytes read must be inside the TSS limit
        uint bits = c.LoadSystem<ushort>(c.Arch.Tr.Base + first);
        uint mask = ((1u << size) - 1) << (port & 7);
        if ((bits & mask) != 0) throw c.Fault(Vec.GP, 0);
    }

    internal static Flow Translate(in Instruction ins, int bitness, ref DecodedInstruction d)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Hlt: d.Exec = &Hlt; return Flow.EndBlock;
            case Mnemonic.Cli: d.Exec = &Cli; return Flow.Continue;
            case Mnemonic.Sti: d.Exec = &Sti; return Flow.EndBlock;
            case Mnemonic.Cpuid: d.Exec = &Cpuid; return Flow.Continue;
            case Mnemonic.Rdtsc: d.Cond = 0; d.Exec = &Rdtsc; return Flow.Continue;
            case Mnemonic.Rdtscp: d.Cond = 1; d.Exec = &Rdtsc; return Flow.Continue;
            case Mnemonic.Rdmsr: d.Exec = &Rdmsr; return Flow.Continue;
            case Mnemonic.Wrmsr: d.Exec = &Wrmsr; return Flow.EndBlock;
            case Mnemonic.Mov when ins.Op0Register.IsCR(): d.Cond = 1; d.Exec = &MovCr; return Flow.EndBlock;
            case Mnemonic.Mov when ins.Op1Register.IsCR(): d.Cond = 0; d.Exec = &MovCr; return Flow.Continue;
            case Mnemonic.Mov when ins.Op0Register.IsDR(): d.Cond = 1; d.Exec = &MovDr; return Flow.EndBlock;
            case Mnemonic.Mov when ins.Op1Register.IsDR(): d.Cond = 0; d.Exec = &MovDr; return Flow.Continue;
            case Mnemonic.Mov when ins.Op0Kind == OpKind.Register && ins.Op0Register.IsSegmentRegister():
                d.Cond = 1; d.Exec = &MovSreg; return Flow.EndBlock;
            case Mnemonic.Mov when ins.Op1Kind == OpKind.Register && ins.Op1Register.IsSegmentRegister():
                d.Cond = 0; d.Exec = &MovSreg; return Flow.Continue;
            case Mnemonic.Lgdt: case Mnemonic.Lidt: case Mnemonic.Sgdt: case Mnemonic.Sidt:
                d.Cond = ins.Mnemonic switch { Mnemonic.Lgdt => 0, Mnemonic.Lidt => 1, Mnemonic.Sgdt => 2, _ => 3 };
                // Without an operand-size prefix, 16-bit code loads a 24-bit base (the "_16" forms).
                d.OpSize = (byte)(ins.Code.ToString().EndsWith("_16") ? 2 : 4);
                d.Exec = &DescTable; return Flow.Continue;
            case Mnemonic.Lldt: d.Cond = 0; d.Exec = &SysSeg; return Flow.Continue;
            case Mnemonic.Ltr: d.Cond = 1; d.Exec = &SysSeg; return Flow.Continue;
            case Mnemonic.Sldt: d.Cond = 2; d.Exec = &SysSeg; return Flow.Continue;
            case Mnemonic.Str: d.Cond = 3; d.Exec = &SysSeg; return Flow.Continue;
            case Mnemonic.Invlpg: d.Exec = &Invlpg; return Flow.EndBlock;
            case Mnemonic.Wbinvd: case Mnemonic.Invd: d.Exec = &Privileged; return Flow.Continue;
            case Mnemonic.Clflush: case Mnemonic.Clflushopt: d.Exec = &ControlInstructions.Nop; return Flow.Continue;
            // IN/OUT end the block: a stop requested during the access (a harness stopping the guest at a port write)
            // leaves Run just past the I/O instruction, as on KVM, not after the instructions that follow it.
            case Mnemonic.In:
                d.Cond = 0; d.Imm2 = ins.Op1Kind == OpKind.Register ? 1UL : 0UL;
                d.OpSize = (byte)ins.Op0Register.GetSize(); d.Exec = &PortIo; return Flow.EndBlock;
            case Mnemonic.Out:
                d.Cond = 1; d.Imm2 = ins.Op0Kind == OpKind.Register ? 1UL : 0UL;
                d.OpSize = (byte)ins.Op1Register.GetSize(); d.Exec = &PortIo; return Flow.EndBlock;
        }
        return SystemCallInstructions.Translate(in ins, bitness, ref d);
    }
}
