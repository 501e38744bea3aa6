using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>Far CALL and JMP through call gates (16/32-bit in protected mode, 64-bit in long mode), with the stack switch of
/// a call to an inner privilege level.</summary>
internal static unsafe class CallGates
{
    /// <summary>
    /// Far JMP/CALL whose selector names a system descriptor: a call gate (16/32-bit in protected mode, 64-bit in long
    /// mode), or in legacy protected mode a task gate or TSS (a task switch). False when the selector names a code or
    /// data segment (the ordinary far transfer then runs). Follows the SDM's CALL and JMP pseudocode: every check
    /// (with its #GP/#NP/#TS/#SS error code) comes before any state changes.
    /// </summary>
    internal static bool FarThroughSystemDescriptor(X86Cpu c, ushort sel, bool call, ulong nextRip)
    {
        if (!c.Mode.Protected || (c.Flags.Rflags & Rf.VM) != 0 || (sel & 0xFFFC) == 0) return false;
        ulong desc = Segmentation.ReadDescriptor(c, sel, 0, out ulong address);
        if ((desc & (1UL << 44)) != 0) return false; // code or data segment
        int type = (int)(desc >> 40) & 0xF;
        uint error = sel & 0xFFFCu;
        if (!c.Mode.LongMode && type is 0x1 or 0x9 or 0x5)
        {
            TaskSwitches.TaskSwitchByJmpOrCall(c, sel, desc, type, call, nextRip);
            return true;
        }
        if (c.Mode.LongMode ? type != 0xC : type is not (0x4 or 0xC)) throw c.Fault(Vec.GP, error);
        int gateDpl = (int)(desc >> 45) & 3;
        if (gateDpl < c.Mode.Cpl || gateDpl < (sel & 3)) throw c.Fault(Vec.GP, error);
        if ((desc & (1UL << 47)) == 0) throw c.Fault(Vec.NP, error);
        ulong target = (desc & 0xFFFF) | ((desc >> 32) & 0xFFFF0000);
        if (c.Mode.LongMode)
        {
            ulong high = c.LoadSystem<ulong>(address + 8);
            if (((high >> 40) & 0x1F) != 0) throw c.Fault(Vec.GP, error); // the upper half's type field must be 0
            target |= high << 32;
        }
        else if (type == 0x4) target &= 0xFFFF;
        int width = c.Mode.LongMode ? 8 : type == 0xC ? 4 : 2;
        int parameters = c.Mode.LongMode ? 0 : (int)(desc >> 32) & 0x1F;

        ushort csSel = (ushort)(desc >> 16);
        var cs = GateCodeSegment(c, csSel, call);
        if (c.Mode.LongMode && (ulong)(((long)target << 16) >> 16) != target) throw c.Fault(Vec.GP, 0);
        bool conforming = (cs.Type & 4) != 0;
        if (call && !conforming && cs.Dpl < c.Mode.Cpl) { CallToInnerPrivilege(c, cs, csSel, target, width, parameters, nextRip); return true; }

        // Same privilege (JMP through any gate, CALL to a conforming or equally privileged segment): CPL stays.
        ulong sp = c.R(4);
        var ss = c.Arch.Seg[(int)Seg.Ss];
        if (call)
        {
            ushort oldCs = c.Arch.Seg[(int)Seg.Cs].Selector;
            Segmentation.PushOn(c, ref sp, ss, width, oldCs);
            Segmentation.PushOn(c, ref sp, ss, width, nextRip);
        }
        cs.Selector = (ushort)((csSel & 0xFFFC) | c.Mode.Cpl);
        c.Arch.Seg[(int)Seg.Cs] = cs;
        Segmentation.SetStackPointer(c, sp, ss);
        c.Rip = target;
        c.UpdateMode();
        return true;
    }

    /// <summary>The code segment a call gate names: non-null, code, privileged enough for the transfer, 64-bit in long
    /// mode, present (SDM order: #GP(0) for null, #GP(selector), then #NP(selector)).</summary>
    private static SegmentRegister GateCodeSegment(X86Cpu c, ushort csSel, bool call)
    {
        if ((csSel & 0xFFFC) == 0) throw c.Fault(Vec.GP, 0);
        ulong d = Segmentation.ReadDescriptor(c, csSel, 0, out ulong address);
        var cs = SegmentRegister.FromDescriptor(csSel, d);
        uint error = csSel & 0xFFFCu;
        if (cs.IsSystem || (cs.Type & 8) == 0) throw c.Fault(Vec.GP, error);
        bool conforming = (cs.Type & 4) != 0;
        if (call || conforming ? cs.Dpl > c.Mode.Cpl : cs.Dpl != c.Mode.Cpl) throw c.Fault(Vec.GP, error);
        if (c.Mode.LongMode && (!cs.Long || cs.DefaultBig)) throw c.Fault(Vec.GP, error);
        if (!cs.Present) throw c.Fault(Vec.NP, error);
        Segmentation.SetAccessed(c, address, d);
        return cs;
    }

    /// <summary>
    /// CALL through a gate to a more privileged non-conforming segment: the new stack comes from the TSS (SS:ESP for the
    /// new CPL, or RSPn and a null SS in long mode); the caller's SS, ESP, the gate's parameter count of stack entries
    /// (legacy gates) and CS, EIP are pushed there at the new privilege, in the gate's width.
    /// </summary>
    private static void CallToInnerPrivilege(X86Cpu c, SegmentRegister cs, ushort csSel, ulong target, int width, int parameters, ulong returnRip)
    {
        int newCpl = cs.Dpl;
        var oldSs = c.Arch.Seg[(int)Seg.Ss];
        ulong oldSp = c.R(4);
        ushort oldCs = c.Arch.Seg[(int)Seg.Cs].Selector;
        SegmentRegister ss;
        ulong sp;
        if (c.Mode.LongMode)
        {
            sp = c.LoadSystem<ulong>(c.Arch.Tr.Base + 4 + (ulong)newCpl * 8);
            if ((ulong)(((long)sp << 16) >> 16) != sp) throw c.Fault(Vec.SS, 0);
            ss = new SegmentRegister((ushort)newCpl, 0, 0, (ushort)(newCpl << 5)); // null SS, RPL = DPL = new CPL
        }
        else (sp, ss) = InnerStackFromTss(c, newCpl);

        // The parameters are read from the caller's stack at its privilege, before anything is written.
        var copied = new ulong[parameters];
        ulong oldMask = oldSs.DefaultBig ? 0xFFFFFFFF : 0xFFFF;
        for (int i = 0; i < parameters; i++)
        {
            ulong lin = (oldSs.Base + ((oldSp + (ulong)(i * width)) & oldMask)) & 0xFFFFFFFF;
            copied[i] = width == 4 ? c.Load<uint>(lin) : c.Load<ushort>(lin);
        }
        ulong key = c._tlb.AccessKey;
        c._tlb.AccessKey = (key & ~3UL) | c.PrivilegeKey(newCpl);
        try
        {
            Segmentation.PushOn(c, ref sp, ss, width, oldSs.Selector);
            Segmentation.PushOn(c, ref sp, ss, width, oldSp);
            for (int i = parameters - 1; i >= 0; i--) Segmentation.PushOn(c, ref sp, ss, width, copied[i]);
            Segmentation.PushOn(c, ref sp, ss, width, oldCs);
            Segmentation.PushOn(c, ref sp, ss, width, returnRip);
        }
        finally { c._tlb.AccessKey = key; }
        c.Arch.Seg[(int)Seg.Ss] = ss;
        cs.Selector = (ushort)((csSel & 0xFFFC) | newCpl);
        c.Arch.Seg[(int)Seg.Cs] = cs;
        Segmentation.SetStackPointer(c, sp, ss);
        c.Rip = target;
        c.UpdateMode();
    }

    /// <summary>SS:ESP for <paramref name="cpl"/> from the current 32-bit or 16-bit TSS, with the stack segment's checks
    /// (#TS for a TSS too short or a bad selector, #SS when the segment is not present).</summary>
    internal static (ulong Sp, SegmentRegister Ss) InnerStackFromTss(X86Cpu c, int cpl)
    {
        bool tss32 = (c.Arch.Tr.Type & 8) != 0;
        ulong at = tss32 ? 4 + (ulong)cpl * 8 : 2 + (ulong)cpl * 4;
        if (at + (tss32 ? 5UL : 3UL) > c.Arch.Tr.Limit) throw c.Fault(Vec.TS, c.Arch.Tr.Selector & 0xFFFCu);
        ulong sp = tss32 ? c.LoadSystem<uint>(c.Arch.Tr.Base + at) : c.LoadSystem<ushort>(c.Arch.Tr.Base + at);
        ushort ssSel = c.LoadSystem<ushort>(c.Arch.Tr.Base + at + (tss32 ? 4UL : 2UL));
        if (!Segmentation.DescriptorInTable(c, ssSel)) throw c.Fault(Vec.TS, ssSel & 0xFFFCu);
        return (sp, Segmentation.LoadStackDescriptor(c, ssSel, cpl, Vec.TS));
    }
}
