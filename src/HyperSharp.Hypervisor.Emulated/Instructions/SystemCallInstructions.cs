using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;
using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>SYSCALL, SYSRET, SWAPGS, IRET, INT n, INT3, INTO: their translation and execution.</summary>
internal static unsafe class SystemCallInstructions
{
    private const ushort Code64Dpl0 = 0xA09B, Data64Dpl0 = 0xC093, Code64Dpl3 = 0xA0FB, Code32Dpl3 = 0xC0FB, Data32Dpl3 = 0xC0F3;

    internal static int Syscall(X86Cpu c, ref DecodedInstruction d)
    {
        if ((c.Arch.Efer & ControlRegisters.EferSCE) == 0 || !c.Mode.LongMode) throw c.Fault(Vec.UD);
        ulong next = c.Rip + d.Len;
        ulong flags = c.Rflags;
        ushort sel = (ushort)((c.Arch.Star >> 32) & 0xFFFC);
        c.R(1) = c.Mode.Bitness == 64 ? next : (uint)next;
        c.R(11) = flags & ~Rf.RF;
        c.Arch.Seg[(int)Seg.Cs] = new SegmentRegister(sel, 0, 0xFFFFFFFF, Code64Dpl0);
        c.Arch.Seg[(int)Seg.Ss] = new SegmentRegister((ushort)(sel + 8), 0, 0xFFFFFFFF, Data64Dpl0);
        c.Rflags = flags & ~c.Arch.Sfmask & ~Rf.RF;
        c.Rip = c.Mode.Bitness == 64 ? c.Arch.Lstar : c.Arch.Cstar;
        c.UpdateMode();
        return 1;
    }

    internal static int Sysret(X86Cpu c, ref DecodedInstruction d)
    {
        if ((c.Arch.Efer & ControlRegisters.EferSCE) == 0 || !c.Mode.LongMode) throw c.Fault(Vec.UD);
        c.RequireCpl0();
        bool to64 = d.OpSize == 8;
        ulong rip = to64 ? c.R(1) : (uint)c.R(1);
        if (to64 && (ulong)(((long)rip << 16) >> 16) != rip) throw c.Fault(Vec.GP, 0);
        ushort b = (ushort)(c.Arch.Star >> 48);
        c.Arch.Seg[(int)Seg.Cs] = to64 ? new SegmentRegister((ushort)((b + 16) | 3), 0, 0xFFFFFFFF, Code64Dpl3)
                                   : new SegmentRegister((ushort)(b | 3), 0, 0xFFFFFFFF, Code32Dpl3);
        c.Arch.Seg[(int)Seg.Ss] = new SegmentRegister((ushort)((b + 8) | 3), 0, 0xFFFFFFFF, Data32Dpl3);
        c.Rflags = (c.R(11) & 0x3C7FD7) | Rf.Fixed1;
        c.Rip = rip;
        c.UpdateMode();
        return 1;
    }

    internal static int Swapgs(X86Cpu c, ref DecodedInstruction d)
    {
        if (c.Mode.Bitness != 64) throw c.Fault(Vec.UD);
        c.RequireCpl0();
        (c.Arch.Seg[(int)Seg.Gs].Base, c.Arch.KernelGsBase) = (c.Arch.KernelGsBase, c.Arch.Seg[(int)Seg.Gs].Base);
        c.UpdateMode();
        return 0;
    }

    /// <summary>INT n (Cond 0), INT3 (1), INTO (2), INT1 (3): traps, so the pushed RIP is the next instruction;
    /// if delivery itself faults, RIP is put back so the fault reports the INT instruction.</summary>
    internal static int SoftInt(X86Cpu c, ref DecodedInstruction d)
    {
        if (d.Cond == 2 && !c.Flags.OF) return 0;
        ulong rip = c.Rip;
        c.Rip = rip + d.Len;
        try
        {
            // INT1 (ICEBP) is a #DB trap without the gate DPL check, like a hardware exception.
            ExceptionDelivery.Deliver(c, d.Cond switch { 0 => (int)(byte)d.Imm, 1 => Vec.BP, 3 => Vec.DB, _ => Vec.OF }, 0, false,
                d.Cond switch { 0 => EventKind.Software, 3 => EventKind.Exception, _ => EventKind.SoftwareException });
        }
        catch (GuestFault)
        {
            // (a fault in the task an INT switched to is that task's, at its EIP; the run loop forgets the mark)
            if (!c._delivery.NewTaskFault) c.Rip = rip;
            throw;
        }
        return 1;
    }

    /// <summary>IRET/IRETD/IRETQ (TS = operand size).</summary>
    internal static int Iret<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong w = (ulong)TS.Bytes;
        if (c._nmiBlocked) c.UnblockNmi();
        if (!c.Mode.Protected)
        {
            ulong ip = c.PeekStack<TS>(0), cs = c.PeekStack<TS>(w) & 0xFFFF, fl = c.PeekStack<TS>(2 * w);
            c.AdjustSp(3 * w);
            c.Arch.Seg[(int)Seg.Cs] = SegmentRegister.RealMode((ushort)cs, c.Arch.Seg[(int)Seg.Cs].Attributes);
            c.WriteFlagsFromGuest(fl, TS.Mask);
            c.Rip = ip;
            c.UpdateMode();
            return 1;
        }
        if ((c.Flags.Rflags & Rf.NT) != 0 && (c.Flags.Rflags & Rf.VM) == 0)
        {
            if (c.Mode.LongMode) throw c.Fault(Vec.GP, 0); // no tasks in IA-32e mode
            TaskSwitches.TaskReturn(c, c.Rip + d.Len);
            return 1;
        }
        ulong newRip = c.PeekStack<TS>(0);
        ushort csSel = (ushort)c.PeekStack<TS>(w);
        ulong newFlags = c.PeekStack<TS>(2 * w);
        var cs2 = Segmentation.LoadCodeDescriptor(c, csSel);
        int rpl = csSel & 3;
        if (rpl < c.Mode.Cpl) throw c.Fault(Vec.GP, csSel & 0xFFFCu);
        bool conforming = (cs2.Type & 4) != 0;
        if (conforming ? cs2.Dpl > rpl : cs2.Dpl != rpl) throw c.Fault(Vec.GP, csSel & 0xFFFCu);
        bool popStack = c.Mode.LongMode || rpl != c.Mode.Cpl;
        ulong newRsp = 0;
        SegmentRegister ss2 = default;
        if (popStack)
        {
            newRsp = c.PeekStack<TS>(3 * w);
            ushort ssSel = (ushort)c.PeekStack<TS>(4 * w);
            ss2 = Segmentation.LoadStackDescriptor(c, ssSel, rpl);
        }
        if (cs2.Long && (ulong)(((long)newRip << 16) >> 16) != newRip) throw c.Fault(Vec.GP, 0);
        // All checks done: commit. (IRET may set RF, so a #DB handler can resume past an instruction breakpoint.)
        c.WriteFlagsFromGuest(newFlags, TS.Mask);
        if (TS.Bytes >= 4 && (newFlags & Rf.RF) != 0) c.Flags.Rflags |= Rf.RF;
        cs2.Selector = csSel;
        c.Arch.Seg[(int)Seg.Cs] = cs2;
        if (popStack)
        {
            c.Arch.Seg[(int)Seg.Ss] = ss2;
            c.R(4) = newRsp;
        }
        else c.AdjustSp(3 * w);
        c.Rip = cs2.Long && c.Mode.LongMode ? newRip : newRip & TS.Mask & 0xFFFFFFFF;
        c.UpdateMode();
        if (rpl > 0) Segmentation.NullifyInaccessibleSegments(c);
        return 1;
    }

    internal static Flow Translate(in Instruction ins, int bitness, ref DecodedInstruction d)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Syscall: d.Exec = &Syscall; return Flow.EndBlock;
            case Mnemonic.Sysret: case Mnemonic.Sysretq:
                d.OpSize = (byte)(ins.Code == Code.Sysretq ? 8 : 4); d.Exec = &Sysret; return Flow.EndBlock;
            case Mnemonic.Swapgs: d.Exec = &Swapgs; return Flow.Continue;
            case Mnemonic.Int: d.Cond = 0; d.Exec = &SoftInt; return Flow.EndBlock;
            case Mnemonic.Int3: d.Cond = 1; d.Exec = &SoftInt; return Flow.EndBlock;
            case Mnemonic.Into: d.Cond = 2; d.Exec = &SoftInt; return Flow.EndBlock;
            case Mnemonic.Int1: d.Cond = 3; d.Exec = &SoftInt; return Flow.EndBlock;
            case Mnemonic.Iret: d.Exec = &Iret<S16>; return Flow.EndBlock;
            case Mnemonic.Iretd: d.Exec = &Iret<S32>; return Flow.EndBlock;
            case Mnemonic.Iretq: d.Exec = &Iret<S64>; return Flow.EndBlock;
        }
        return Flow.Unsupported;
    }

}
