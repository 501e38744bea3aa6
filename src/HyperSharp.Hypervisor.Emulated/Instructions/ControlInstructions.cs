using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>A condition code as a type, so each Jcc handler is compiled with its condition constant-folded.</summary>
internal interface ICond { static abstract int Cc { get; } }
internal struct CcO : ICond { public static int Cc => 0; }
internal struct CcNo : ICond { public static int Cc => 1; }
internal struct CcB : ICond { public static int Cc => 2; }
internal struct CcAe : ICond { public static int Cc => 3; }
internal struct CcE : ICond { public static int Cc => 4; }
internal struct CcNe : ICond { public static int Cc => 5; }
internal struct CcBe : ICond { public static int Cc => 6; }
internal struct CcA : ICond { public static int Cc => 7; }
internal struct CcS : ICond { public static int Cc => 8; }
internal struct CcNs : ICond { public static int Cc => 9; }
internal struct CcP : ICond { public static int Cc => 10; }
internal struct CcNp : ICond { public static int Cc => 11; }
internal struct CcL : ICond { public static int Cc => 12; }
internal struct CcGe : ICond { public static int Cc => 13; }
internal struct CcLe : ICond { public static int Cc => 14; }
internal struct CcG : ICond { public static int Cc => 15; }

/// <summary>Near branches (Jcc JMP CALL RET LOOP JrCXZ), the stack (PUSH POP LEAVE PUSHF POPF), the flag instructions, NOP and
/// fences: their translation and execution.</summary>
internal static unsafe class ControlInstructions
{
    // ---- Jcc JMP CALL RET LOOP JrCXZ: Imm = target - instruction start, Imm2 = IP width mask ----
    // A taken branch sets RIP and leaves the block (return 1); a not-taken Jcc continues inside it.

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int Jcc<TC>(X86Cpu c, ref DecodedInstruction d) where TC : struct, ICond
    {
        if (!c.Flags.Cond(TC.Cc)) return 0;
        ref ulong rip = ref c.R(DecodedInstruction.RipIndex);
        rip = (rip + d.Imm) & d.Imm2;
        return 1;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int JmpRel(X86Cpu c, ref DecodedInstruction d)
    {
        ref ulong rip = ref c.R(DecodedInstruction.RipIndex);
        rip = (rip + d.Imm) & d.Imm2;
        return 1;
    }

    internal static int JmpInd<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong target = c.ReadOp0<TS>(ref d);
        CheckTarget<TS>(c, target);
        c.R(DecodedInstruction.RipIndex) = target;
        return 1;
    }

    /// <summary>A 64-bit branch to a non-canonical address faults on the branch (RIP unchanged), not on the fetch.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void CheckTarget<TS>(X86Cpu c, ulong target) where TS : struct, ISize
    {
        if (TS.Bytes == 8 && (ulong)(((long)target << 16) >> 16) != target) throw c.Fault(Vec.GP, 0);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int CallRel<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ref ulong rip = ref c.R(DecodedInstruction.RipIndex);
        c.Push<TS>((rip + d.Len) & TS.Mask);
        rip = (rip + d.Imm) & d.Imm2;
        return 1;
    }

    internal static int CallInd<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong target = c.ReadOp0<TS>(ref d);
        CheckTarget<TS>(c, target);
        ref ulong rip = ref c.R(DecodedInstruction.RipIndex);
        c.Push<TS>((rip + d.Len) & TS.Mask);
        rip = target;
        return 1;
    }

    /// <summary>RET / RET imm16 (Imm bytes released after the pop).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int Ret<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong target = c.PeekStack<TS>(0);
        CheckTarget<TS>(c, target);
        c.AdjustSp((ulong)TS.Bytes);
        if (d.Imm != 0) c.AdjustSp(d.Imm);
        c.R(DecodedInstruction.RipIndex) = target;
        return 1;
    }

    /// <summary>LOOP (Cond 0), LOOPE (1), LOOPNE (2), JrCXZ (3); the count register's width is AddrMask.</summary>
    internal static int Loop(X86Cpu c, ref DecodedInstruction d)
    {
        ref ulong rcx = ref c.R(1);
        ulong m = d.AddrMask;
        bool take;
        if (d.Cond == 3) take = (rcx & m) == 0;
        else
        {
            ulong n = (rcx - 1) & m;
            rcx = (rcx & ~m) | n;
            if (m == 0xFFFFFFFF) rcx = n; // a 32-bit count register write zero-extends
            take = n != 0 && (d.Cond == 0 || (d.Cond == 1 ? c.Flags.ZF : !c.Flags.ZF));
        }
        if (!take) return 0;
        ref ulong rip = ref c.R(DecodedInstruction.RipIndex);
        rip = (rip + d.Imm) & d.Imm2;
        return 1;
    }

    // ---- PUSH POP LEAVE PUSHF POPF ----

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int PushOp<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong v = d.Imm2 == 1 ? d.Imm : c.ReadOp0<TS>(ref d);
        c.Push<TS>(v);
        return 0;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int PopOp<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong v = c.PeekStack<TS>(0);
        ulong oldSp = c.R(4);
        c.AdjustSp((ulong)TS.Bytes);
        if (X86Cpu.IsMem(ref d))
        {
            // The destination address is computed with the incremented RSP (SDM POP); undo on a fault.
            try { TS.Store(c, c.Lin(ref d), v); }
            catch (GuestFault) { c.R(4) = oldSp; throw; }
        }
        else TS.SetReg(c, d.Reg, 0, v);
        return 0;
    }

    internal static int PushSreg<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        c.Push<TS>(c.Arch.Seg[d.Reg].Selector);
        return 0;
    }

    /// <summary>POP Sreg: the descriptor load may fault, so RSP moves only after it succeeded.</summary>
    internal static int PopSreg<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ushort sel = (ushort)c.PeekStack<TS>(0);
        Segmentation.LoadSegment(c, d.Reg, sel);
        c.AdjustSp((ulong)TS.Bytes);
        if (d.Reg == (int)Seg.Ss) c._shadow = c._ssLoaded = true;
        c.R(DecodedInstruction.RipIndex) += d.Len;
        return 1;
    }

    internal static int Leave<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong bp = c.R(5);
        ulong v = TS.Load(c, c.Lin((int)Seg.Ss, bp & c.Mode.StackMask));
        c.R(4) = (c.R(4) & ~c.Mode.StackMask) | ((bp + (ulong)TS.Bytes) & c.Mode.StackMask);
        TS.SetReg(c, 5, 0, v);
        return 0;
    }

    internal static int Pushf<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        c.Push<TS>(c.Rflags & ~(Rf.VM | Rf.RF) & TS.Mask);
        return 0;
    }

    internal static int Popf<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong v = c.PeekStack<TS>(0);
        c.AdjustSp((ulong)TS.Bytes);
        c.WriteFlagsFromGuest(v, TS.Mask);
        c.R(DecodedInstruction.RipIndex) += d.Len;
        return 1; // IF/TF may have changed: let the run loop look at interrupts
    }

    /// <summary>CLC STC CMC CLD STD LAHF SAHF (Cond selects).</summary>
    internal static int FlagOpInstr(X86Cpu c, ref DecodedInstruction d)
    {
        c.Flags.Materialize();
        ref ulong f = ref c.Flags.Rflags;
        switch (d.Cond)
        {
            case 0: f &= ~Rf.CF; break;
            case 1: f |= Rf.CF; break;
            case 2: f ^= Rf.CF; break;
            case 3: f &= ~Rf.DF; break;
            case 4: f |= Rf.DF; break;
            case 5: S8.SetReg(c, 0, 8, (f & 0xD5) | 2); break;
            case 6: f = (f & ~0xD5UL) | ((c.R(0) >> 8) & 0xD5); break;
        }
        return 0;
    }

    internal static int Nop(X86Cpu c, ref DecodedInstruction d) => 0;

    internal static Flow Translate(in Instruction ins, int bitness, ref DecodedInstruction d)
    {
        int stackBytes = ins.StackPointerIncrement is var inc && inc != 0 ? Math.Abs(inc) : 0;
        switch (ins.Mnemonic)
        {
            case Mnemonic.Jo: case Mnemonic.Jno: case Mnemonic.Jb: case Mnemonic.Jae: case Mnemonic.Je: case Mnemonic.Jne:
            case Mnemonic.Jbe: case Mnemonic.Ja: case Mnemonic.Js: case Mnemonic.Jns: case Mnemonic.Jp: case Mnemonic.Jnp:
            case Mnemonic.Jl: case Mnemonic.Jge: case Mnemonic.Jle: case Mnemonic.Jg:
                d.Exec = d.Cond switch
                {
                    0 => &Jcc<CcO>, 1 => &Jcc<CcNo>, 2 => &Jcc<CcB>, 3 => &Jcc<CcAe>, 4 => &Jcc<CcE>, 5 => &Jcc<CcNe>,
                    6 => &Jcc<CcBe>, 7 => &Jcc<CcA>, 8 => &Jcc<CcS>, 9 => &Jcc<CcNs>, 10 => &Jcc<CcP>, 11 => &Jcc<CcNp>,
                    12 => &Jcc<CcL>, 13 => &Jcc<CcGe>, 14 => &Jcc<CcLe>, _ => &Jcc<CcG>,
                };
                return Flow.Continue;
            case Mnemonic.Jmp:
                if (ins.Op0Kind is OpKind.FarBranch16 or OpKind.FarBranch32 || ins.IsJmpFarIndirect) return FarTransferInstructions.Translate(in ins, bitness, ref d);
                d.Exec = ins.Op0Kind is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64 ? &JmpRel
                    : Translator.BySize(d.OpSize, &JmpInd<S16>, &JmpInd<S16>, &JmpInd<S32>, &JmpInd<S64>);
                return Flow.EndBlock;
            case Mnemonic.Call:
                if (ins.Op0Kind is OpKind.FarBranch16 or OpKind.FarBranch32 || ins.IsCallFarIndirect) return FarTransferInstructions.Translate(in ins, bitness, ref d);
                d.Exec = ins.Op0Kind is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64
                    ? Translator.BySize(stackBytes, &CallRel<S16>, &CallRel<S16>, &CallRel<S32>, &CallRel<S64>)
                    : Translator.BySize(stackBytes, &CallInd<S16>, &CallInd<S16>, &CallInd<S32>, &CallInd<S64>);
                return Flow.EndBlock;
            case Mnemonic.Ret:
            {
                int size = ins.OpCode.OperandSize is var os && os != 0 ? os / 8 : bitness == 64 ? 8 : bitness / 8;
                if (ins.OpCount == 0) d.Imm = 0;
                d.Exec = Translator.BySize(size, &Ret<S16>, &Ret<S16>, &Ret<S32>, &Ret<S64>);
                return Flow.EndBlock;
            }
            case Mnemonic.Retf:
                return FarTransferInstructions.Translate(in ins, bitness, ref d);
            case Mnemonic.Loop: case Mnemonic.Loope: case Mnemonic.Loopne: case Mnemonic.Jcxz: case Mnemonic.Jecxz: case Mnemonic.Jrcxz:
            {
                d.Cond = ins.Mnemonic switch { Mnemonic.Loop => 0, Mnemonic.Loope => 1, Mnemonic.Loopne => 2, _ => 3 };
                string code = ins.Code.ToString(); // translation time only
                d.AddrMask = code.EndsWith("RCX") ? ulong.MaxValue : code.EndsWith("ECX") ? 0xFFFFFFFF : 0xFFFF;
                d.Exec = &Loop;
                return Flow.Continue;
            }
            case Mnemonic.Push:
                if (ins.Op0Kind == OpKind.Register && ins.Op0Register.IsSegmentRegister())
                {
                    d.Exec = Translator.BySize(stackBytes, &PushSreg<S16>, &PushSreg<S16>, &PushSreg<S32>, &PushSreg<S64>);
                    return Flow.Continue;
                }
                if (ins.Op0Kind != OpKind.Register && ins.Op0Kind != OpKind.Memory) d.Imm2 = 1;
                d.Exec = Translator.BySize(stackBytes, &PushOp<S16>, &PushOp<S16>, &PushOp<S32>, &PushOp<S64>);
                return Flow.Continue;
            case Mnemonic.Pop:
                if (ins.Op0Kind == OpKind.Register && ins.Op0Register.IsSegmentRegister())
                {
                    d.Exec = Translator.BySize(stackBytes, &PopSreg<S16>, &PopSreg<S16>, &PopSreg<S32>, &PopSreg<S64>);
                    return Flow.EndBlock;
                }
                d.Exec = Translator.BySize(stackBytes, &PopOp<S16>, &PopOp<S16>, &PopOp<S32>, &PopOp<S64>);
                return Flow.Continue;
            case Mnemonic.Leave:
                d.Exec = Translator.BySize(stackBytes == 0 ? (bitness == 64 ? 8 : bitness / 8) : stackBytes, &Leave<S16>, &Leave<S16>, &Leave<S32>, &Leave<S64>);
                return Flow.Continue;
            case Mnemonic.Pushf: case Mnemonic.Pushfd: case Mnemonic.Pushfq:
                d.Exec = Translator.BySize(stackBytes, &Pushf<S16>, &Pushf<S16>, &Pushf<S32>, &Pushf<S64>);
                return Flow.Continue;
            case Mnemonic.Popf: case Mnemonic.Popfd: case Mnemonic.Popfq:
                d.Exec = Translator.BySize(stackBytes, &Popf<S16>, &Popf<S16>, &Popf<S32>, &Popf<S64>);
                return Flow.EndBlock;
            case Mnemonic.Clc: d.Cond = 0; d.Exec = &FlagOpInstr; return Flow.Continue;
            case Mnemonic.Stc: d.Cond = 1; d.Exec = &FlagOpInstr; return Flow.Continue;
            case Mnemonic.Cmc: d.Cond = 2; d.Exec = &FlagOpInstr; return Flow.Continue;
            case Mnemonic.Cld: d.Cond = 3; d.Exec = &FlagOpInstr; return Flow.Continue;
            case Mnemonic.Std: d.Cond = 4; d.Exec = &FlagOpInstr; return Flow.Continue;
            case Mnemonic.Lahf: d.Cond = 5; d.Exec = &FlagOpInstr; return Flow.Continue;
            case Mnemonic.Sahf: d.Cond = 6; d.Exec = &FlagOpInstr; return Flow.Continue;
            case Mnemonic.Nop: case Mnemonic.Pause: case Mnemonic.Lfence: case Mnemonic.Sfence: case Mnemonic.Prefetchnta:
            case Mnemonic.Prefetcht0: case Mnemonic.Prefetcht1: case Mnemonic.Prefetcht2: case Mnemonic.Prefetchw: case Mnemonic.Endbr64:
                d.Exec = &Nop; return Flow.Continue;
            case Mnemonic.Mfence:
                d.Exec = &Mfence; return Flow.Continue;
        }
        return Flow.Unsupported;
    }

    /// <summary>MFENCE: a full host barrier (x86 stores can pass later loads only through the store buffer).</summary>
    internal static int Mfence(X86Cpu c, ref DecodedInstruction d) { Interlocked.MemoryBarrier(); return 0; }
}
