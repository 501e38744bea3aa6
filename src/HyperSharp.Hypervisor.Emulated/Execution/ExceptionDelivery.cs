using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// What a processor carries from detecting an event to delivering it: the #PF address (CR2 is written at delivery), the
/// mark of a fault that belongs to a task just switched to, and RF for the RFLAGS image a fault pushes.
/// </summary>
/// <remarks>A struct in its processor's field, like <see cref="Breakpoints"/>: the page walker and the task switch set
/// it without an indirection.</remarks>
internal struct PendingDelivery
{
    /// <summary>CR2 is written when the #PF is delivered, not when it is detected (a nested fault may win).</summary>
    public ulong Cr2;

    /// <summary>Set when a fault comes from qualifying a new task's segments: it is reported at the new task's EIP.</summary>
    public bool NewTaskFault;

    /// <summary>The RFLAGS image of the event being delivered carries RF (a fault: one-shot, see
    /// <see cref="ExceptionDelivery.PushedFlags"/>).</summary>
    public bool PushRf;

    /// <summary>Whether the fault being handled belongs to a task just switched to (and forgets it).</summary>
    public bool TakeNewTaskFault()
    {
        bool f = NewTaskFault;
        NewTaskFault = false;
        return f;
    }
}

/// <summary>
/// Exception and interrupt delivery: through the real-mode IVT, 32-bit protected-mode interrupt, trap and task gates, and
/// 64-bit gates with IST; a fault during delivery escalates to #DF and then triple fault. It keeps no state of its own:
/// it reads and writes the processor it is given (<see cref="PendingDelivery"/> in its <c>_delivery</c> field).
/// </summary>
internal static class ExceptionDelivery
{
    /// <summary>Delivers a fault caught by the run loop, escalating to #DF and triple fault per the SDM
    /// (Vol. 3 6.15, table 6-5). Returns false on triple fault (shutdown).</summary>
    internal static bool DeliverFault(X86Cpu c, GuestFault f)
    {
        int first = f.Vector;
        uint code = f.ErrorCode;
        c._delivery.TakeNewTaskFault(); // (the fault being delivered may itself come from a new task: that is settled already)
        for (int attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                // Fault-class exceptions push RF = 1, so an instruction breakpoint on the restarted
                // instruction does not fire a second time (SDM 17.3.1.1).
                c._delivery.PushRf = true;
                Deliver(c, first, code, Vec.HasErrorCode(first), EventKind.Exception);
                c._delivery.PushRf = false; // (real-mode delivery pushes 16-bit FLAGS and never consumes it)
                return true;
            }
            catch (GuestFault g)
            {
                c._delivery.PushRf = false;
                int second = g.Vector;
                // A fault while a task switch qualifies the new task's segments belongs to the new task: it is delivered
                // there on its own, not combined with the event that switched.
                if (c._delivery.TakeNewTaskFault()) { first = second; code = g.ErrorCode; continue; }
                if (first == Vec.DF) return false;
                bool isDouble = (Vec.Contributory(first) && Vec.Contributory(second))
                    || (first == Vec.PF && (second == Vec.PF || Vec.Contributory(second)));
                if (isDouble) { first = Vec.DF; code = 0; }
                else { first = second; code = g.ErrorCode; }
            }
        }
        return false;
    }

    /// <summary>RFLAGS as pushed by event delivery: with RF for a fault being delivered (one-shot).</summary>
    internal static ulong PushedFlags(X86Cpu c)
    {
        ulong f = c.Rflags;
        if (c._delivery.PushRf) { f |= Rf.RF; c._delivery.PushRf = false; }
        return f;
    }

    /// <summary>Delivers an event through the IVT/IDT with the current RIP as the return address.</summary>
    internal static void Deliver(X86Cpu c, int vector, uint errorCode, bool hasErrorCode, EventKind kind)
    {
        if (vector == Vec.PF) c.Arch.Cr2 = c._delivery.Cr2;
        c._halted = false;
        if (!c.Mode.Protected) { DeliverReal(c, vector); return; }
        if (!c.Mode.LongMode) { DeliverProtected(c, vector, errorCode, hasErrorCode, kind); return; }
        DeliverLong(c, vector, errorCode, hasErrorCode, kind);
    }

    /// <summary>Long-mode delivery through 64-bit interrupt and trap gates, with IST stacks.</summary>
    private static void DeliverLong(X86Cpu c, int vector, uint errorCode, bool hasErrorCode, EventKind kind)
    {
        uint ext = kind == EventKind.External ? 1u : 0u;
        uint idtCode = (uint)vector * 8 + 2 + ext;
        if ((ulong)vector * 16 + 15 > c.Arch.Idtr.Limit) throw c.Fault(Vec.GP, idtCode);
        ulong lo = c.LoadSystem<ulong>(c.Arch.Idtr.Base + (ulong)vector * 16);
        ulong hi = c.LoadSystem<ulong>(c.Arch.Idtr.Base + (ulong)vector * 16 + 8);
        int type = (int)(lo >> 40) & 0xF;
        if (type != 0xE && type != 0xF) throw c.Fault(Vec.GP, idtCode);
        int gateDpl = (int)(lo >> 45) & 3;
        if (kind is EventKind.Software or EventKind.SoftwareException && gateDpl < c.Mode.Cpl) throw c.Fault(Vec.GP, idtCode);
        if ((lo & (1UL << 47)) == 0) throw c.Fault(Vec.NP, idtCode);
        ulong target = (lo & 0xFFFF) | ((lo >> 32) & 0xFFFF0000) | (hi << 32);
        ushort sel = (ushort)(lo >> 16);
        int ist = (int)(lo >> 32) & 7;
        var cs = Segmentation.LoadCodeDescriptor(c, sel, ext);
        if (!cs.Long || cs.DefaultBig) throw c.Fault(Vec.GP, (sel & 0xFFFCu) | ext);
        bool conforming = (cs.Type & 4) != 0;
        int newCpl = conforming ? c.Mode.Cpl : cs.Dpl;
        if (newCpl > c.Mode.Cpl) throw c.Fault(Vec.GP, (sel & 0xFFFCu) | ext);

        ulong oldRsp = c.R(4), oldRflags = PushedFlags(c), oldRip = c.Rip;
        var oldSs = c.Arch.Seg[(int)Seg.Ss];
        ushort oldCs = c.Arch.Seg[(int)Seg.Cs].Selector;
        ulong rsp = oldRsp;
        if (ist != 0) rsp = c.LoadSystem<ulong>(c.Arch.Tr.Base + 0x24 + (ulong)(ist - 1) * 8);
        else if (newCpl < c.Mode.Cpl) rsp = c.LoadSystem<ulong>(c.Arch.Tr.Base + 4 + (ulong)newCpl * 8);
        rsp &= ~15UL;

        // All pushes happen at the new privilege before any register changes, so a fault here leaves
        // the interrupted state intact for #DF.
        ulong key = c._tlb.AccessKey;
        c._tlb.AccessKey = (key & ~3UL) | c.PrivilegeKey(newCpl);
        try
        {
            if ((ulong)(((long)rsp << 16) >> 16) != rsp) throw c.Fault(Vec.SS, ext);
            c.Store(rsp - 8, (ulong)oldSs.Selector);
            c.Store(rsp - 16, oldRsp);
            c.Store(rsp - 24, oldRflags);
            c.Store(rsp - 32, (ulong)oldCs);
            c.Store(rsp - 40, oldRip);
            rsp -= 40;
            if (hasErrorCode) { rsp -= 8; c.Store(rsp, (ulong)errorCode); }
        }
        finally { c._tlb.AccessKey = key; }

        if (newCpl < c.Mode.Cpl)
            c.Arch.Seg[(int)Seg.Ss] = new SegmentRegister((ushort)newCpl, 0, 0, (ushort)(newCpl << 5)); // null SS, RPL = DPL = new CPL
        cs.Selector = (ushort)((sel & 0xFFFC) | newCpl);
        c.Arch.Seg[(int)Seg.Cs] = cs;
        c.R(4) = rsp;
        c.Rip = target;
        ulong f = oldRflags & ~(Rf.TF | Rf.NT | Rf.RF | Rf.VM);
        if (type == 0xE) f &= ~Rf.IF;
        c.Rflags = f;
        c.UpdateMode();
    }

    /// <summary>Real-mode delivery through the IVT: push FLAGS, CS, IP; clear IF, TF, AC.</summary>
    private static void DeliverReal(X86Cpu c, int vector)
    {
        ulong entry = (ulong)vector * 4;
        if (entry + 3 > c.Arch.Idtr.Limit) throw c.Fault(Vec.GP, 0);
        uint ivt = c.LoadSystem<uint>(c.Arch.Idtr.Base + entry);
        ulong fl = c.Rflags;
        c.Push16((ushort)fl);
        c.Push16(c.Arch.Seg[(int)Seg.Cs].Selector);
        c.Push16((ushort)c.Rip);
        c.Rflags = fl & ~(Rf.IF | Rf.TF | Rf.AC);
        c.Arch.Seg[(int)Seg.Cs] = SegmentRegister.RealMode((ushort)(ivt >> 16), c.Arch.Seg[(int)Seg.Cs].Attributes);
        c.Rip = ivt & 0xFFFF;
        c.UpdateMode();
    }

    /// <summary>Protected-mode (32-bit) delivery through interrupt and trap gates, and task gates (a task switch; the error
    /// code, if any, is pushed on the new task's stack).</summary>
    private static void DeliverProtected(X86Cpu c, int vector, uint errorCode, bool hasErrorCode, EventKind kind)
    {
        uint ext = kind == EventKind.External ? 1u : 0u;
        uint idtCode = (uint)vector * 8 + 2 + ext;
        if ((ulong)vector * 8 + 7 > c.Arch.Idtr.Limit) throw c.Fault(Vec.GP, idtCode);
        ulong g = c.LoadSystem<ulong>(c.Arch.Idtr.Base + (ulong)vector * 8);
        int type = (int)(g >> 40) & 0x1F;
        if (type is not (0x5 or 0x6 or 0x7 or 0xE or 0xF)) throw c.Fault(Vec.GP, idtCode);
        if (kind is EventKind.Software or EventKind.SoftwareException && ((int)(g >> 45) & 3) < c.Mode.Cpl) throw c.Fault(Vec.GP, idtCode);
        if ((g & (1UL << 47)) == 0) throw c.Fault(Vec.NP, idtCode);
        if (type == 0x5)
        {
            ushort tssSel = (ushort)(g >> 16);
            TaskSwitches.TaskSwitch(c, tssSel, TaskSwitches.TaskGateTss(c, tssSel, ext), TaskSwitchSource.Interrupt, c.Rip, ext);
            if (hasErrorCode)
            {
                ulong sp = c.R(4);
                Segmentation.PushOn(c, ref sp, c.Arch.Seg[(int)Seg.Ss], (c.Arch.Tr.Type & 8) != 0 ? 4 : 2, errorCode);
                Segmentation.SetStackPointer(c, sp, c.Arch.Seg[(int)Seg.Ss]);
            }
            return;
        }
        bool gate32 = (type & 8) != 0;
        ulong target = (g & 0xFFFF) | ((g >> 32) & 0xFFFF0000);
        ushort sel = (ushort)(g >> 16);
        var cs = Segmentation.LoadCodeDescriptor(c, sel, ext);
        int newCpl = (cs.Type & 4) != 0 ? c.Mode.Cpl : cs.Dpl;
        if (newCpl > c.Mode.Cpl) throw c.Fault(Vec.GP, (sel & 0xFFFCu) | ext);

        ulong oldFlags = PushedFlags(c), oldEsp = c.R(4), oldEip = c.Rip;
        ushort oldSsSel = c.Arch.Seg[(int)Seg.Ss].Selector, oldCsSel = c.Arch.Seg[(int)Seg.Cs].Selector;
        var ss = c.Arch.Seg[(int)Seg.Ss];
        ulong esp = oldEsp;
        bool stackSwitch = newCpl < c.Mode.Cpl;
        if (stackSwitch)
        {
            esp = c.LoadSystem<uint>(c.Arch.Tr.Base + 4 + (ulong)newCpl * 8);
            ushort ssSel = c.LoadSystem<ushort>(c.Arch.Tr.Base + 8 + (ulong)newCpl * 8);
            ss = Segmentation.LoadStackDescriptor(c, ssSel, newCpl, Vec.TS);
        }
        int w = gate32 ? 4 : 2;
        ulong mask = ss.DefaultBig ? 0xFFFFFFFF : 0xFFFF;
        ulong key = c._tlb.AccessKey;
        c._tlb.AccessKey = (key & ~3UL) | c.PrivilegeKey(newCpl);
        try
        {
            void Put(ulong v)
            {
                esp = (esp - (ulong)w) & mask;
                if (w == 4) c.Store((ss.Base + esp) & 0xFFFFFFFF, (uint)v); else c.Store((ss.Base + esp) & 0xFFFFFFFF, (ushort)v);
            }
            if (stackSwitch) { Put(oldSsSel); Put(oldEsp); }
            Put(oldFlags); Put(oldCsSel); Put(oldEip);
            if (hasErrorCode) Put(errorCode);
        }
        finally { c._tlb.AccessKey = key; }
        if (stackSwitch) c.Arch.Seg[(int)Seg.Ss] = ss;
        c.R(4) = (c.R(4) & ~mask) | esp;
        if (stackSwitch && mask == 0xFFFFFFFF) c.R(4) = esp;
        cs.Selector = (ushort)((sel & 0xFFFC) | newCpl);
        c.Arch.Seg[(int)Seg.Cs] = cs;
        c.Rip = gate32 ? target : target & 0xFFFF;
        ulong f = oldFlags & ~(Rf.TF | Rf.NT | Rf.RF | Rf.VM);
        if ((type & 1) == 0) f &= ~Rf.IF;
        c.Rflags = f;
        c.UpdateMode();
    }
}
