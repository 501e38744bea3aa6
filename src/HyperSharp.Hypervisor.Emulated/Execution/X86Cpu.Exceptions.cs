using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Execution;

public sealed unsafe partial class X86Cpu
{
    // One reusable exception object: faults are frequent enough (demand paging) that allocating each
    // would show, and the delivery code copies the fields out before anything can throw again.
    private readonly GuestFault _fault = new();

    internal GuestFault Fault(int vector, uint errorCode = 0)
    {
        _fault.Vector = vector;
        _fault.ErrorCode = errorCode;
        return _fault;
    }

    /// <summary>#GP(0) unless at CPL 0: the check of every privileged instruction.</summary>
    internal void RequireCpl0() { if (_cpl != 0) throw Fault(Vec.GP, 0); }

    /// <summary>Set when a fault comes from qualifying a new task's segments: it is reported at the new task's EIP.</summary>
    internal bool _newTaskFault;

    internal bool NewTaskFaultPending => _newTaskFault;

    /// <summary>Whether the fault being handled belongs to a task just switched to (and forgets it).</summary>
    internal bool TakeNewTaskFault()
    {
        bool f = _newTaskFault;
        _newTaskFault = false;
        return f;
    }

    /// <summary>CR2 is written when the #PF is delivered, not when it is detected (a nested fault may win).</summary>
    internal ulong _pendingCr2;

    /// <summary>Delivers a fault caught by the run loop, escalating to #DF and triple fault per the SDM
    /// (Vol. 3 6.15, table 6-5). Returns false on triple fault (shutdown).</summary>
    private bool DeliverFault(GuestFault f)
    {
        int first = f.Vector;
        uint code = f.ErrorCode;
        TakeNewTaskFault(); // (the fault being delivered may itself come from a new task: that is settled already)
        for (int attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                // Fault-class exceptions push RF = 1, so an instruction breakpoint on the restarted
                // instruction does not fire a second time (SDM 17.3.1.1).
                _pushRf = true;
                Deliver(first, code, Vec.HasErrorCode(first), EventKind.Exception);
                _pushRf = false; // (real-mode delivery pushes 16-bit FLAGS and never consumes it)
                return true;
            }
            catch (GuestFault g)
            {
                _pushRf = false;
                int second = g.Vector;
                // A fault while a task switch qualifies the new task's segments belongs to the new task: it is delivered
                // there on its own, not combined with the event that switched.
                if (TakeNewTaskFault()) { first = second; code = g.ErrorCode; continue; }
                if (first == Vec.DF) return false;
                bool isDouble = (Vec.Contributory(first) && Vec.Contributory(second))
                    || (first == Vec.PF && (second == Vec.PF || Vec.Contributory(second)));
                if (isDouble) { first = Vec.DF; code = 0; }
                else { first = second; code = g.ErrorCode; }
            }
        }
        return false;
    }

    private bool _pushRf;

    /// <summary>RFLAGS as pushed by event delivery: with RF for a fault being delivered (one-shot).</summary>
    internal ulong PushedFlags()
    {
        ulong f = Rflags;
        if (_pushRf) { f |= Rf.RF; _pushRf = false; }
        return f;
    }

    /// <summary>Raises a software interrupt (INT n / INT3 / INTO) after RIP was advanced past the instruction.</summary>
    internal void SoftwareInterrupt(int vector, EventKind kind)
    {
        Deliver(vector, 0, false, kind);
    }

    /// <summary>Delivers an event through the IVT/IDT with the current RIP as the return address.</summary>
    internal void Deliver(int vector, uint errorCode, bool hasErrorCode, EventKind kind)
    {
        if (vector == Vec.PF) Arch.Cr2 = _pendingCr2;
        _halted = false;
        if (!_protected) { DeliverReal(vector); return; }
        if (!_longMode) { DeliverProtected(vector, errorCode, hasErrorCode, kind); return; }
        uint ext = kind == EventKind.External ? 1u : 0u;
        uint idtCode = (uint)vector * 8 + 2 + ext;
        if ((ulong)vector * 16 + 15 > Arch.Idtr.Limit) throw Fault(Vec.GP, idtCode);
        ulong lo = LoadSystem<ulong>(Arch.Idtr.Base + (ulong)vector * 16);
        ulong hi = LoadSystem<ulong>(Arch.Idtr.Base + (ulong)vector * 16 + 8);
        int type = (int)(lo >> 40) & 0xF;
        if (type != 0xE && type != 0xF) throw Fault(Vec.GP, idtCode);
        int gateDpl = (int)(lo >> 45) & 3;
        if (kind is EventKind.Software or EventKind.SoftwareException && gateDpl < _cpl) throw Fault(Vec.GP, idtCode);
        if ((lo & (1UL << 47)) == 0) throw Fault(Vec.NP, idtCode);
        ulong target = (lo & 0xFFFF) | ((lo >> 32) & 0xFFFF0000) | (hi << 32);
        ushort sel = (ushort)(lo >> 16);
        int ist = (int)(lo >> 32) & 7;
        var cs = LoadCodeDescriptor(sel, ext);
        if (!cs.Long || cs.DefaultBig) throw Fault(Vec.GP, (sel & 0xFFFCu) | ext);
        bool conforming = (cs.Type & 4) != 0;
        int newCpl = conforming ? _cpl : cs.Dpl;
        if (newCpl > _cpl) throw Fault(Vec.GP, (sel & 0xFFFCu) | ext);

        ulong oldRsp = R(4), oldRflags = PushedFlags(), oldRip = Rip;
        var oldSs = Arch.Seg[(int)Seg.Ss];
        ushort oldCs = Arch.Seg[(int)Seg.Cs].Selector;
        ulong rsp = oldRsp;
        if (ist != 0) rsp = LoadSystem<ulong>(Arch.Tr.Base + 0x24 + (ulong)(ist - 1) * 8);
        else if (newCpl < _cpl) rsp = LoadSystem<ulong>(Arch.Tr.Base + 4 + (ulong)newCpl * 8);
        rsp &= ~15UL;

        // All pushes happen at the new privilege before any register changes, so a fault here leaves
        // the interrupted state intact for #DF.
        ulong key = _tlb.AccessKey;
        _tlb.AccessKey = (key & ~3UL) | PrivilegeKey(newCpl);
        try
        {
            if ((ulong)(((long)rsp << 16) >> 16) != rsp) throw Fault(Vec.SS, ext);
            Store(rsp - 8, (ulong)oldSs.Selector);
            Store(rsp - 16, oldRsp);
            Store(rsp - 24, oldRflags);
            Store(rsp - 32, (ulong)oldCs);
            Store(rsp - 40, oldRip);
            rsp -= 40;
            if (hasErrorCode) { rsp -= 8; Store(rsp, (ulong)errorCode); }
        }
        finally { _tlb.AccessKey = key; }

        if (newCpl < _cpl)
            Arch.Seg[(int)Seg.Ss] = new SegmentRegister((ushort)newCpl, 0, 0, (ushort)(newCpl << 5)); // null SS, RPL = DPL = new CPL
        cs.Selector = (ushort)((sel & 0xFFFC) | newCpl);
        Arch.Seg[(int)Seg.Cs] = cs;
        R(4) = rsp;
        Rip = target;
        ulong f = oldRflags & ~(Rf.TF | Rf.NT | Rf.RF | Rf.VM);
        if (type == 0xE) f &= ~Rf.IF;
        Rflags = f;
        UpdateMode();
    }

    /// <summary>Real-mode delivery through the IVT: push FLAGS, CS, IP; clear IF, TF, AC.</summary>
    private void DeliverReal(int vector)
    {
        ulong entry = (ulong)vector * 4;
        if (entry + 3 > Arch.Idtr.Limit) throw Fault(Vec.GP, 0);
        uint ivt = LoadSystem<uint>(Arch.Idtr.Base + entry);
        ulong fl = Rflags;
        Push16((ushort)fl);
        Push16(Arch.Seg[(int)Seg.Cs].Selector);
        Push16((ushort)Rip);
        Rflags = fl & ~(Rf.IF | Rf.TF | Rf.AC);
        Arch.Seg[(int)Seg.Cs] = SegmentRegister.RealMode((ushort)(ivt >> 16), Arch.Seg[(int)Seg.Cs].Attributes);
        Rip = ivt & 0xFFFF;
        UpdateMode();
    }

    /// <summary>Protected-mode (32-bit) delivery through interrupt and trap gates, and task gates (a task switch; the error
    /// code, if any, is pushed on the new task's stack).</summary>
    private void DeliverProtected(int vector, uint errorCode, bool hasErrorCode, EventKind kind)
    {
        uint ext = kind == EventKind.External ? 1u : 0u;
        uint idtCode = (uint)vector * 8 + 2 + ext;
        if ((ulong)vector * 8 + 7 > Arch.Idtr.Limit) throw Fault(Vec.GP, idtCode);
        ulong g = LoadSystem<ulong>(Arch.Idtr.Base + (ulong)vector * 8);
        int type = (int)(g >> 40) & 0x1F;
        if (type is not (0x5 or 0x6 or 0x7 or 0xE or 0xF)) throw Fault(Vec.GP, idtCode);
        if (kind is EventKind.Software or EventKind.SoftwareException && ((int)(g >> 45) & 3) < _cpl) throw Fault(Vec.GP, idtCode);
        if ((g & (1UL << 47)) == 0) throw Fault(Vec.NP, idtCode);
        if (type == 0x5)
        {
            ushort tssSel = (ushort)(g >> 16);
            TaskSwitches.TaskSwitch(this, tssSel, TaskSwitches.TaskGateTss(this, tssSel, ext), TaskSwitchSource.Interrupt, Rip, ext);
            if (hasErrorCode)
            {
                ulong sp = R(4);
                PushOn(ref sp, Arch.Seg[(int)Seg.Ss], (Arch.Tr.Type & 8) != 0 ? 4 : 2, errorCode);
                SetStackPointer(sp, Arch.Seg[(int)Seg.Ss]);
            }
            return;
        }
        bool gate32 = (type & 8) != 0;
        ulong target = (g & 0xFFFF) | ((g >> 32) & 0xFFFF0000);
        ushort sel = (ushort)(g >> 16);
        var cs = LoadCodeDescriptor(sel, ext);
        int newCpl = (cs.Type & 4) != 0 ? _cpl : cs.Dpl;
        if (newCpl > _cpl) throw Fault(Vec.GP, (sel & 0xFFFCu) | ext);

        ulong oldFlags = PushedFlags(), oldEsp = R(4), oldEip = Rip;
        ushort oldSsSel = Arch.Seg[(int)Seg.Ss].Selector, oldCsSel = Arch.Seg[(int)Seg.Cs].Selector;
        var ss = Arch.Seg[(int)Seg.Ss];
        ulong esp = oldEsp;
        bool stackSwitch = newCpl < _cpl;
        if (stackSwitch)
        {
            esp = LoadSystem<uint>(Arch.Tr.Base + 4 + (ulong)newCpl * 8);
            ushort ssSel = LoadSystem<ushort>(Arch.Tr.Base + 8 + (ulong)newCpl * 8);
            ss = LoadStackDescriptor(ssSel, newCpl, Vec.TS);
        }
        int w = gate32 ? 4 : 2;
        ulong mask = ss.DefaultBig ? 0xFFFFFFFF : 0xFFFF;
        ulong key = _tlb.AccessKey;
        _tlb.AccessKey = (key & ~3UL) | PrivilegeKey(newCpl);
        try
        {
            void Put(ulong v)
            {
                esp = (esp - (ulong)w) & mask;
                if (w == 4) Store((ss.Base + esp) & 0xFFFFFFFF, (uint)v); else Store((ss.Base + esp) & 0xFFFFFFFF, (ushort)v);
            }
            if (stackSwitch) { Put(oldSsSel); Put(oldEsp); }
            Put(oldFlags); Put(oldCsSel); Put(oldEip);
            if (hasErrorCode) Put(errorCode);
        }
        finally { _tlb.AccessKey = key; }
        if (stackSwitch) Arch.Seg[(int)Seg.Ss] = ss;
        R(4) = (R(4) & ~mask) | esp;
        if (stackSwitch && mask == 0xFFFFFFFF) R(4) = esp;
        cs.Selector = (ushort)((sel & 0xFFFC) | newCpl);
        Arch.Seg[(int)Seg.Cs] = cs;
        Rip = gate32 ? target : target & 0xFFFF;
        ulong f = oldFlags & ~(Rf.TF | Rf.NT | Rf.RF | Rf.VM);
        if ((type & 1) == 0) f &= ~Rf.IF;
        Rflags = f;
        UpdateMode();
    }
}
