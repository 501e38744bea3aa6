using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Execution;

public sealed unsafe partial class X86Cpu
{
    /// <summary>
    /// Far JMP/CALL whose selector names a system descriptor: a call gate (16/32-bit in protected mode, 64-bit in long
    /// mode), or in legacy protected mode a task gate or TSS (a task switch). False when the selector names a code or
    /// data segment (the ordinary far transfer then runs). Follows the SDM's CALL and JMP pseudocode: every check
    /// (with its #GP/#NP/#TS/#SS error code) comes before any state changes.
    /// </summary>
    internal bool FarThroughSystemDescriptor(ushort sel, bool call, ulong nextRip)
    {
        if (!_protected || (Arch.Rflags & Rf.VM) != 0 || (sel & 0xFFFC) == 0) return false;
        ulong desc = ReadDescriptor(sel, 0, out ulong address);
        if ((desc & (1UL << 44)) != 0) return false; // code or data segment
        int type = (int)(desc >> 40) & 0xF;
        uint error = sel & 0xFFFCu;
        if (!_longMode && type is 0x1 or 0x9 or 0x5)
        {
            TaskSwitchByJmpOrCall(sel, desc, type, call, nextRip);
            return true;
        }
        if (_longMode ? type != 0xC : type is not (0x4 or 0xC)) throw Fault(Vec.GP, error);
        int gateDpl = (int)(desc >> 45) & 3;
        if (gateDpl < _cpl || gateDpl < (sel & 3)) throw Fault(Vec.GP, error);
        if ((desc & (1UL << 47)) == 0) throw Fault(Vec.NP, error);
        ulong target = (desc & 0xFFFF) | ((desc >> 32) & 0xFFFF0000);
        if (_longMode)
        {
            ulong high = LoadSystem<ulong>(address + 8);
            if (((high >> 40) & 0x1F) != 0) throw Fault(Vec.GP, error); // the upper half's type field must be 0
            target |= high << 32;
        }
        else if (type == 0x4) target &= 0xFFFF;
        int width = _longMode ? 8 : type == 0xC ? 4 : 2;
        int parameters = _longMode ? 0 : (int)(desc >> 32) & 0x1F;

        ushort csSel = (ushort)(desc >> 16);
        var cs = GateCodeSegment(csSel, call);
        if (_longMode && (ulong)(((long)target << 16) >> 16) != target) throw Fault(Vec.GP, 0);
        bool conforming = (cs.Type & 4) != 0;
        if (call && !conforming && cs.Dpl < _cpl) { CallToInnerPrivilege(cs, csSel, target, width, parameters, nextRip); return true; }

        // Same privilege (JMP through any gate, CALL to a conforming or equally privileged segment): CPL stays.
        ulong sp = R(4);
        var ss = Arch.Seg[(int)Seg.Ss];
        if (call)
        {
            ushort oldCs = Arch.Seg[(int)Seg.Cs].Selector;
            PushOn(ref sp, ss, width, oldCs);
            PushOn(ref sp, ss, width, nextRip);
        }
        cs.Selector = (ushort)((csSel & 0xFFFC) | _cpl);
        Arch.Seg[(int)Seg.Cs] = cs;
        SetStackPointer(sp, ss);
        Rip = target;
        UpdateMode();
        return true;
    }

    /// <summary>The code segment a call gate names: non-null, code, privileged enough for the transfer, 64-bit in long
    /// mode, present (SDM order: #GP(0) for null, #GP(selector), then #NP(selector)).</summary>
    private SegmentRegister GateCodeSegment(ushort csSel, bool call)
    {
        if ((csSel & 0xFFFC) == 0) throw Fault(Vec.GP, 0);
        ulong d = ReadDescriptor(csSel, 0, out ulong address);
        var cs = SegmentRegister.FromDescriptor(csSel, d);
        uint error = csSel & 0xFFFCu;
        if (cs.IsSystem || (cs.Type & 8) == 0) throw Fault(Vec.GP, error);
        bool conforming = (cs.Type & 4) != 0;
        if (call || conforming ? cs.Dpl > _cpl : cs.Dpl != _cpl) throw Fault(Vec.GP, error);
        if (_longMode && (!cs.Long || cs.DefaultBig)) throw Fault(Vec.GP, error);
        if (!cs.Present) throw Fault(Vec.NP, error);
        SetAccessed(address, d);
        return cs;
    }

    /// <summary>
    /// CALL through a gate to a more privileged non-conforming segment: the new stack comes from the TSS (SS:ESP for the
    /// new CPL, or RSPn and a null SS in long mode); the caller's SS, ESP, the gate's parameter count of stack entries
    /// (legacy gates) and CS, EIP are pushed there at the new privilege, in the gate's width.
    /// </summary>
    private void CallToInnerPrivilege(SegmentRegister cs, ushort csSel, ulong target, int width, int parameters, ulong returnRip)
    {
        int newCpl = cs.Dpl;
        var oldSs = Arch.Seg[(int)Seg.Ss];
        ulong oldSp = R(4);
        ushort oldCs = Arch.Seg[(int)Seg.Cs].Selector;
        SegmentRegister ss;
        ulong sp;
        if (_longMode)
        {
            sp = LoadSystem<ulong>(Arch.Tr.Base + 4 + (ulong)newCpl * 8);
            if ((ulong)(((long)sp << 16) >> 16) != sp) throw Fault(Vec.SS, 0);
            ss = new SegmentRegister((ushort)newCpl, 0, 0, (ushort)(newCpl << 5)); // null SS, RPL = DPL = new CPL
        }
        else (sp, ss) = InnerStackFromTss(newCpl);

        // The parameters are read from the caller's stack at its privilege, before anything is written.
        var copied = new ulong[parameters];
        ulong oldMask = oldSs.DefaultBig ? 0xFFFFFFFF : 0xFFFF;
        for (int i = 0; i < parameters; i++)
        {
            ulong lin = (oldSs.Base + ((oldSp + (ulong)(i * width)) & oldMask)) & 0xFFFFFFFF;
            copied[i] = width == 4 ? Load<uint>(lin) : Load<ushort>(lin);
        }
        ulong key = _accessKey;
        _accessKey = (key & ~3UL) | PrivilegeKey(newCpl);
        try
        {
            PushOn(ref sp, ss, width, oldSs.Selector);
            PushOn(ref sp, ss, width, oldSp);
            for (int i = parameters - 1; i >= 0; i--) PushOn(ref sp, ss, width, copied[i]);
            PushOn(ref sp, ss, width, oldCs);
            PushOn(ref sp, ss, width, returnRip);
        }
        finally { _accessKey = key; }
        Arch.Seg[(int)Seg.Ss] = ss;
        cs.Selector = (ushort)((csSel & 0xFFFC) | newCpl);
        Arch.Seg[(int)Seg.Cs] = cs;
        SetStackPointer(sp, ss);
        Rip = target;
        UpdateMode();
    }

    /// <summary>SS:ESP for <paramref name="cpl"/> from the current 32-bit or 16-bit TSS, with the stack segment's checks
    /// (#TS for a TSS too short or a bad selector, #SS when the segment is not present).</summary>
    internal (ulong Sp, SegmentRegister Ss) InnerStackFromTss(int cpl)
    {
        bool tss32 = (Arch.Tr.Type & 8) != 0;
        ulong at = tss32 ? 4 + (ulong)cpl * 8 : 2 + (ulong)cpl * 4;
        if (at + (tss32 ? 5UL : 3UL) > Arch.Tr.Limit) throw Fault(Vec.TS, Arch.Tr.Selector & 0xFFFCu);
        ulong sp = tss32 ? LoadSystem<uint>(Arch.Tr.Base + at) : LoadSystem<ushort>(Arch.Tr.Base + at);
        ushort ssSel = LoadSystem<ushort>(Arch.Tr.Base + at + (tss32 ? 4UL : 2UL));
        if (!DescriptorInTable(ssSel)) throw Fault(Vec.TS, ssSel & 0xFFFCu);
        return (sp, LoadStackDescriptor(ssSel, cpl, Vec.TS));
    }

    /// <summary>Whether a non-null selector's descriptor lies inside its table (GDT or LDT).</summary>
    internal bool DescriptorInTable(ushort sel)
    {
        if ((sel & 0xFFFC) == 0) return true; // null: the caller's own check reports it
        bool ldt = (sel & 4) != 0;
        return (ulong)(sel & 0xFFF8) + 7 <= (ldt ? Arch.Ldtr.Limit : Arch.Gdtr.Limit) && !(ldt && Arch.Ldtr.Selector == 0);
    }

    /// <summary>Pushes <paramref name="width"/> bytes onto the stack <paramref name="ss"/> describes (8-byte pushes, which
    /// only long mode makes: flat).</summary>
    internal void PushOn(ref ulong sp, in SegmentRegister ss, int width, ulong value)
    {
        if (width == 8)
        {
            sp -= 8;
            Store(sp, value);
            return;
        }
        ulong mask = ss.DefaultBig ? 0xFFFFFFFF : 0xFFFF;
        sp = (sp & ~mask) | ((sp - (ulong)width) & mask);
        ulong lin = (ss.Base + (sp & mask)) & 0xFFFFFFFF;
        if (width == 4) Store(lin, (uint)value); else Store(lin, (ushort)value);
    }

    /// <summary>RSP after a stack switch or push: SP only for a 16-bit stack segment outside 64-bit mode.</summary>
    internal void SetStackPointer(ulong sp, in SegmentRegister ss)
    {
        if (_longMode || ss.DefaultBig) R(4) = _longMode ? sp : sp & 0xFFFFFFFF;
        else R(4) = (R(4) & ~0xFFFFUL) | (sp & 0xFFFF);
    }
}
