using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>What started a task switch: it decides the busy bits, the back link and NT (SDM Vol. 3, 7.3).</summary>
internal enum TaskSwitchSource { Jmp, Call, Iret, Interrupt }

/// <summary>Where a 32-bit or a 16-bit TSS keeps each field.</summary>
internal readonly record struct TssLayout(int Width, uint MinLimit, int Ip, int Flags, int Gprs, int Segments, int SegmentCount, int Ldt)
{
    public static readonly TssLayout Tss32 = new(4, 0x67, 0x20, 0x24, 0x28, 0x48, 6, 0x60);
    public static readonly TssLayout Tss16 = new(2, 0x2B, 0x0E, 0x10, 0x12, 0x22, 4, 0x2A);
    public const int Cr3 = 0x1C; // 32-bit TSS only
    public const int DebugTrap = 0x64; // 32-bit TSS only: bit 0 is T
}

/// <summary>Task switches in legacy protected mode (SDM Vol. 3, 7.3): JMP/CALL to a TSS or task gate, interrupts and exceptions
/// through task gates, IRET along the back link.</summary>
internal static unsafe class TaskSwitches
{
    /// <summary>JMP/CALL to a TSS descriptor (<paramref name="type"/> 1 or 9) or a task gate (5) named by <paramref name="sel"/>.</summary>
    internal static void TaskSwitchByJmpOrCall(X86Cpu c, ushort sel, ulong desc, int type, bool call, ulong returnRip)
    {
        uint error = sel & 0xFFFCu;
        int dpl = (int)(desc >> 45) & 3;
        if (dpl < c.Mode.Cpl || dpl < (sel & 3)) throw c.Fault(Vec.GP, error);
        ushort tssSel = sel;
        if (type == 0x5)
        {
            if ((desc & (1UL << 47)) == 0) throw c.Fault(Vec.NP, error);
            tssSel = (ushort)(desc >> 16);
            desc = TaskGateTss(c, tssSel, 0);
        }
        TaskSwitch(c, tssSel, desc, call ? TaskSwitchSource.Call : TaskSwitchSource.Jmp, returnRip, 0);
    }

    /// <summary>The TSS descriptor a task gate names: in the GDT, inside its limit, a 16/32-bit TSS (#GP(selector) otherwise).</summary>
    internal static ulong TaskGateTss(X86Cpu c, ushort tssSel, uint ext)
    {
        uint error = (tssSel & 0xFFFCu) | ext;
        if ((tssSel & 4) != 0 || (tssSel & 0xFFFC) == 0 || !Segmentation.DescriptorInTable(c, tssSel)) throw c.Fault(Vec.GP, error);
        ulong d = Segmentation.ReadDescriptor(c, tssSel, ext, out _);
        if (((d >> 40) & 0x15) != 0x1) throw c.Fault(Vec.GP, error); // system, type 1/3/9/B
        return d;
    }

    /// <summary>IRET with NT set: back to the task whose TSS selector is the current TSS's back link (must be busy).</summary>
    internal static void TaskReturn(X86Cpu c, ulong nextRip)
    {
        ushort link = c.LoadSystem<ushort>(c.Arch.Tr.Base);
        uint error = link & 0xFFFCu;
        if ((link & 4) != 0 || (link & 0xFFFC) == 0 || !Segmentation.DescriptorInTable(c, link)) throw c.Fault(Vec.TS, error);
        ulong desc = Segmentation.ReadDescriptor(c, link, 0, out _);
        if (((desc >> 40) & 0x15) != 0x1) throw c.Fault(Vec.TS, error);
        TaskSwitch(c, link, desc, TaskSwitchSource.Iret, nextRip, 0);
    }

    /// <summary>
    /// Switches to the task whose TSS descriptor is <paramref name="desc"/> (SDM Vol. 3, 7.3): checks the new TSS (busy state,
    /// present, limit), reads its state, saves the current task (EIP = <paramref name="oldEip"/>) into the current TSS,
    /// updates the busy bits, the back link and NT, loads TR, sets CR0.TS, then loads the new task's CR3, LDTR, EFLAGS, EIP,
    /// registers and segments. Faults up to the save leave the old task intact; faults while its segments are qualified
    /// (#TS/#NP/#SS) happen in the new task, as on hardware.
    /// </summary>
    internal static void TaskSwitch(X86Cpu c, ushort sel, ulong desc, TaskSwitchSource source, ulong oldEip, uint ext)
    {
        uint error = (sel & 0xFFFCu) | ext;
        int type = (int)(desc >> 40) & 0xF;
        bool busy = (type & 2) != 0;
        if (source == TaskSwitchSource.Iret ? !busy : busy) throw c.Fault(source == TaskSwitchSource.Iret ? Vec.TS : Vec.GP, error);
        if ((desc & (1UL << 47)) == 0) throw c.Fault(Vec.NP, error);
        var tss = SegmentRegister.FromDescriptor(sel, desc);
        var layout = (type & 8) != 0 ? TssLayout.Tss32 : TssLayout.Tss16;
        if (tss.Limit < layout.MinLimit) throw c.Fault(Vec.TS, error);
        var oldLayout = (c.Arch.Tr.Type & 8) != 0 ? TssLayout.Tss32 : TssLayout.Tss16;

        // The new task's state, read before anything changes (and before its CR3 applies).
        ulong Read(int offset) => layout.Width == 4 ? c.LoadSystem<uint>(tss.Base + (ulong)offset) : c.LoadSystem<ushort>(tss.Base + (ulong)offset);
        ulong newEip = Read(layout.Ip), newFlags = Read(layout.Flags);
        var gprs = new ulong[8];
        for (int i = 0; i < 8; i++) gprs[i] = Read(layout.Gprs + i * layout.Width);
        var selectors = new ushort[6];
        for (int i = 0; i < layout.SegmentCount; i++) selectors[i] = (ushort)Read(layout.Segments + i * layout.Width);
        ushort ldt = c.LoadSystem<ushort>(tss.Base + (ulong)layout.Ldt);
        ulong cr3 = layout.Width == 4 ? c.LoadSystem<uint>(tss.Base + TssLayout.Cr3) : c.Arch.Cr3;
        bool debugTrap = layout.Width == 4 && (c.LoadSystem<ushort>(tss.Base + TssLayout.DebugTrap) & 1) != 0;

        // Save the current task.
        ulong flags = source == TaskSwitchSource.Interrupt ? ExceptionDelivery.PushedFlags(c) : c.Rflags;
        if (source == TaskSwitchSource.Iret) flags &= ~Rf.NT;
        void Write(int offset, ulong v)
        {
            if (oldLayout.Width == 4) c.StoreSystem(c.Arch.Tr.Base + (ulong)offset, (uint)v); else c.StoreSystem(c.Arch.Tr.Base + (ulong)offset, (ushort)v);
        }
        Write(oldLayout.Ip, oldEip);
        Write(oldLayout.Flags, flags);
        for (int i = 0; i < 8; i++) Write(oldLayout.Gprs + i * oldLayout.Width, c.R(i));
        for (int i = 0; i < oldLayout.SegmentCount; i++) Write(oldLayout.Segments + i * oldLayout.Width, c.Arch.Seg[i].Selector);
        if (source is TaskSwitchSource.Jmp or TaskSwitchSource.Iret) SetTssBusy(c, c.Arch.Tr.Selector, false);
        if (source is TaskSwitchSource.Call or TaskSwitchSource.Interrupt)
        {
            c.StoreSystem(tss.Base, c.Arch.Tr.Selector); // back link
            newFlags |= Rf.NT;
        }
        if (source != TaskSwitchSource.Iret) SetTssBusy(c, sel, true);
        tss.Attributes |= 2;
        c.Arch.Tr = tss;
        c.Arch.Cr0 |= ControlRegisters.Cr0TS;

        // Load the new task: from here on, faults belong to it.
        if (layout.Width == 4 && c.Mode.Paging && cr3 != c.Arch.Cr3) ControlRegisters.WriteCr3(c, cr3);
        c.Rflags = newFlags;
        for (int i = 0; i < 8; i++) c.R(i) = layout.Width == 4 ? gprs[i] : (c.R(i) & ~0xFFFFUL) | gprs[i];
        c.Rip = newEip;
        for (int i = 0; i < 6; i++) c.Arch.Seg[i] = new SegmentRegister(selectors[i], 0, 0, 0);
        c.Arch.Ldtr = new SegmentRegister(ldt, 0, 0, 0);
        c.UpdateMode();
        try { LoadTaskSegments(c, selectors, ldt, ext); }
        catch (GuestFault) { c._delivery.NewTaskFault = true; throw; }
        if (debugTrap)
        {
            // The new TSS's T bit: #DB once the switch is complete, before the new task's first instruction, with
            // DR6.BT (SDM Vol. 3, 7.2.1 and 17.3.1.5). Raised like a new-task fault, so it is delivered at the new EIP.
            c.Arch.Dr[6] |= 0x8000;
            c._delivery.NewTaskFault = true;
            throw c.Fault(Vec.DB, 0);
        }
    }

    private static void SetTssBusy(X86Cpu c, ushort sel, bool busy)
    {
        ulong at = c.Arch.Gdtr.Base + (ulong)(sel & 0xFFF8) + 5;
        byte access = c.LoadSystem<byte>(at);
        c.StoreSystem(at, busy ? (byte)(access | 2) : (byte)(access & ~2));
    }

    /// <summary>Qualifies and loads the new task's LDTR, CS, SS, DS, ES, FS, GS (SDM Vol. 3, Table 7-1): #TS(selector) for
    /// a bad one, #NP (#SS for the stack) when not present. CPL becomes the RPL of CS. A virtual-8086 task takes them as
    /// real-mode selectors.</summary>
    private static void LoadTaskSegments(X86Cpu c, ushort[] selectors, ushort ldt, uint ext)
    {
        if ((c.Flags.Rflags & Rf.VM) != 0)
        {
            for (int i = 0; i < 6; i++) c.Arch.Seg[i] = SegmentRegister.RealMode(selectors[i], 0xF3);
            c.UpdateMode();
            return;
        }
        if ((ldt & 0xFFFC) != 0)
        {
            if ((ldt & 4) != 0 || !Segmentation.DescriptorInTable(c, ldt)) throw c.Fault(Vec.TS, (ldt & 0xFFFCu) | ext);
            var l = SegmentRegister.FromDescriptor(ldt, Segmentation.ReadDescriptor(c, ldt, ext, out _));
            if (!l.IsSystem || l.Type != 2 || !l.Present) throw c.Fault(Vec.TS, (ldt & 0xFFFCu) | ext);
            c.Arch.Ldtr = l;
        }
        ushort csSel = selectors[(int)Seg.Cs];
        int cpl = csSel & 3;
        var cs = TaskSegment(c, csSel, ext, out ulong csAddress, out ulong csDesc);
        bool conforming = (cs.Type & 4) != 0;
        if (cs.IsSystem || (cs.Type & 8) == 0 || (conforming ? cs.Dpl > cpl : cs.Dpl != cpl)) throw c.Fault(Vec.TS, (csSel & 0xFFFCu) | ext);
        if (!cs.Present) throw c.Fault(Vec.NP, (csSel & 0xFFFCu) | ext);
        Segmentation.SetAccessed(c, csAddress, csDesc);
        c.Arch.Seg[(int)Seg.Cs] = cs;

        ushort ssSel = selectors[(int)Seg.Ss];
        var ss = TaskSegment(c, ssSel, ext, out ulong ssAddress, out ulong ssDesc);
        if ((ssSel & 0xFFFC) == 0 || (ssSel & 3) != cpl || ss.IsSystem || (ss.Type & 0xA) != 2 || ss.Dpl != cpl)
            throw c.Fault(Vec.TS, (ssSel & 0xFFFCu) | ext);
        if (!ss.Present) throw c.Fault(Vec.SS, (ssSel & 0xFFFCu) | ext);
        Segmentation.SetAccessed(c, ssAddress, ssDesc);
        c.Arch.Seg[(int)Seg.Ss] = ss;
        c.UpdateMode();

        foreach (int i in Segmentation.DataSegments)
        {
            ushort s = selectors[i];
            if ((s & 0xFFFC) == 0) continue; // null: loads fine, faults on use
            var seg = TaskSegment(c, s, ext, out ulong address, out ulong d);
            bool code = (seg.Type & 8) != 0, conformingCode = code && (seg.Type & 4) != 0;
            if (seg.IsSystem || (code && (seg.Type & 2) == 0) || (!conformingCode && (seg.Dpl < cpl || seg.Dpl < (s & 3))))
                throw c.Fault(Vec.TS, (s & 0xFFFCu) | ext);
            if (!seg.Present) throw c.Fault(Vec.NP, (s & 0xFFFCu) | ext);
            Segmentation.SetAccessed(c, address, d);
            c.Arch.Seg[i] = seg;
        }
        c.UpdateMode();
    }

    /// <summary>The descriptor of a segment selector from a TSS: #TS(selector) when it lies outside its table.</summary>
    private static SegmentRegister TaskSegment(X86Cpu c, ushort sel, uint ext, out ulong address, out ulong desc)
    {
        address = 0; desc = 0;
        if ((sel & 0xFFFC) == 0) return default;
        if (!Segmentation.DescriptorInTable(c, sel)) throw c.Fault(Vec.TS, (sel & 0xFFFCu) | ext);
        desc = Segmentation.ReadDescriptor(c, sel, ext, out address);
        return SegmentRegister.FromDescriptor(sel, desc);
    }
}
