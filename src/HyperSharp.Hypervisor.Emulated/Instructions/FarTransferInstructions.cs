using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;
using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>Far JMP, CALL and RET: at the same privilege level, and RET to an outer one (through call gates:
/// <see cref="CallGates"/>; to tasks: <see cref="TaskSwitches"/>): their translation and execution.</summary>
internal static unsafe class FarTransferInstructions
{
    // Direct forms carry offset in Imm and selector in Imm2; indirect forms read offset then selector from memory.

    /// <summary>Loads CS for a far JMP/CALL/RET at the current privilege and sets RIP; faults before changing anything.</summary>
    internal static void FarTransfer(X86Cpu c, ushort sel, ulong offset, bool isReturn)
    {
        if (!c.Mode.Protected || (c.Flags.Rflags & Rf.VM) != 0)
        {
            c.Arch.Seg[(int)Seg.Cs] = SegmentRegister.RealMode(sel, c.Arch.Seg[(int)Seg.Cs].Attributes);
            c.Rip = offset & 0xFFFF_FFFF;
            c.UpdateMode();
            return;
        }
        var cs = Segmentation.LoadCodeDescriptor(c, sel);
        bool conforming = (cs.Type & 4) != 0;
        int rpl = sel & 3;
        if (isReturn ? rpl != c.Mode.Cpl : conforming ? cs.Dpl > c.Mode.Cpl : (cs.Dpl != c.Mode.Cpl || rpl > c.Mode.Cpl))
            throw c.Fault(Vec.GP, sel & 0xFFFCu);
        if (cs.Long && c.Mode.LongMode && (ulong)(((long)offset << 16) >> 16) != offset) throw c.Fault(Vec.GP, 0);
        cs.Selector = (ushort)((sel & 0xFFFC) | c.Mode.Cpl);
        c.Arch.Seg[(int)Seg.Cs] = cs;
        c.Rip = offset;
        c.UpdateMode();
    }

    /// <summary>Far pointer operand: (selector, offset) from the instruction or from memory (TS = offset size).</summary>
    private static (ushort sel, ulong off) FarPointer<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        if (!X86Cpu.IsMem(ref d)) return ((ushort)d.Imm2, d.Imm);
        ulong lin = c.Lin(ref d);
        ulong off = TS.Load(c, lin);
        return (c.Load<ushort>(lin + (ulong)TS.Bytes), off);
    }

    internal static int JmpFar<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        var (sel, off) = FarPointer<TS>(c, ref d);
        if (CallGates.FarThroughSystemDescriptor(c, sel, false, c.Rip + d.Len)) return 1; // (the next EIP is what a task switch saves)
        FarTransfer(c, sel, off, false);
        return 1;
    }

    internal static int CallFar<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        var (sel, off) = FarPointer<TS>(c, ref d);
        ulong ret = c.Rip + d.Len;
        if (CallGates.FarThroughSystemDescriptor(c, sel, true, ret)) return 1;
        ushort oldCs = c.Arch.Seg[(int)Seg.Cs].Selector;
        ulong oldSp = c.R(4);
        var oldCsCache = c.Arch.Seg[(int)Seg.Cs];
        ulong oldRip = c.Rip;
        FarTransfer(c, sel, off, false);
        try
        {
            // Pushed with the new CS loaded but the old stack: restore everything if a push faults.
            c.Push<TS>(oldCs);
            c.Push<TS>(ret & TS.Mask);
        }
        catch (GuestFault)
        {
            c.R(4) = oldSp; c.Arch.Seg[(int)Seg.Cs] = oldCsCache; c.Rip = oldRip; c.UpdateMode();
            throw;
        }
        return 1;
    }

    internal static int RetFar<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong w = (ulong)TS.Bytes;
        ulong off = c.PeekStack<TS>(0);
        ushort sel = (ushort)c.PeekStack<TS>(w);
        if (c.Mode.Protected && (c.Flags.Rflags & Rf.VM) == 0 && (sel & 3) > c.Mode.Cpl)
        {
            // Return to an outer privilege level: CS:RIP, then (past the immediate's bytes) RSP and SS of the outer
            // stack (SDM RET, "return-to-outer-privilege-level"). Every check before anything changes.
            var cs = Segmentation.LoadCodeDescriptor(c, sel);
            int rpl = sel & 3;
            if ((cs.Type & 4) != 0 ? cs.Dpl > rpl : cs.Dpl != rpl) throw c.Fault(Vec.GP, sel & 0xFFFCu);
            ulong newRsp = c.PeekStack<TS>(2 * w + d.Imm);
            ushort ssSel = (ushort)c.PeekStack<TS>(3 * w + d.Imm);
            var ss = Segmentation.LoadStackDescriptor(c, ssSel, rpl);
            if (cs.Long && c.Mode.LongMode && (ulong)(((long)off << 16) >> 16) != off) throw c.Fault(Vec.GP, 0);
            cs.Selector = sel;
            c.Arch.Seg[(int)Seg.Cs] = cs;
            c.Arch.Seg[(int)Seg.Ss] = ss;
            c.R(4) = newRsp + d.Imm;
            c.Rip = cs.Long && c.Mode.LongMode ? off : off & TS.Mask & 0xFFFFFFFF;
            c.UpdateMode();
            Segmentation.NullifyInaccessibleSegments(c);
            return 1;
        }
        FarTransfer(c, sel, off, true);
        c.AdjustSp(2 * (ulong)TS.Bytes + d.Imm);
        return 1;
    }

    internal static Flow Translate(in Instruction ins, int bitness, ref DecodedInstruction d)
    {
        int size = ins.Op0Kind == OpKind.FarBranch16 ? 2 : ins.Op0Kind == OpKind.FarBranch32 ? 4
            : ins.OpCount > 0 && ins.Op0Kind == OpKind.Memory ? ins.MemorySize.GetSize() - 2
            : ins.OpCode.OperandSize is var os && os != 0 ? os / 8 : bitness == 16 ? 2 : 4;
        switch (ins.Mnemonic)
        {
            case Mnemonic.Jmp: d.Exec = Translator.BySize(size, &JmpFar<S16>, &JmpFar<S16>, &JmpFar<S32>, &JmpFar<S64>); return Flow.EndBlock;
            case Mnemonic.Call: d.Exec = Translator.BySize(size, &CallFar<S16>, &CallFar<S16>, &CallFar<S32>, &CallFar<S64>); return Flow.EndBlock;
            case Mnemonic.Retf:
                if (ins.OpCount == 0) d.Imm = 0;
                d.Exec = Translator.BySize(size, &RetFar<S16>, &RetFar<S16>, &RetFar<S32>, &RetFar<S64>); return Flow.EndBlock;
        }
        return Flow.Unsupported;
    }
}
