using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// Segmentation in protected mode and its neighbours: reading a selector's descriptor from the GDT or LDT, the checks
/// and accessed-bit update of a segment load (data, code for a control transfer, stack for a privilege change), the
/// nulling of data segments after a return outward, and pushes on a stack segment other than the current one (far
/// calls through gates, interrupt delivery). Static, taking the processor, like <see cref="ExceptionDelivery"/>.
/// </summary>
internal static class Segmentation
{
    /// <summary>Reads the 8-byte descriptor a selector names (GDT or LDT), #GP(selector) past the limit.</summary>
    public static ulong ReadDescriptor(X86Cpu c, ushort sel, uint ext, out ulong address)
    {
        bool ldt = (sel & 4) != 0;
        ulong tableBase = ldt ? c.Arch.Ldtr.Base : c.Arch.Gdtr.Base;
        ulong limit = ldt ? c.Arch.Ldtr.Limit : c.Arch.Gdtr.Limit;
        ulong off = (ulong)(sel & 0xFFF8);
        if (off + 7 > limit || (ldt && c.Arch.Ldtr.Selector == 0)) throw c.Fault(Vec.GP, (sel & 0xFFFCu) | ext);
        address = tableBase + off;
        return c.LoadSystem<ulong>(address);
    }

    /// <summary>A code-segment descriptor for a control transfer: must be non-null, code, present.</summary>
    public static SegmentRegister LoadCodeDescriptor(X86Cpu c, ushort sel, uint ext = 0)
    {
        if ((sel & 0xFFFC) == 0) throw c.Fault(Vec.GP, ext);
        ulong d = ReadDescriptor(c, sel, ext, out ulong addr);
        var s = SegmentRegister.FromDescriptor(sel, d);
        if (s.IsSystem || (s.Type & 8) == 0) throw c.Fault(Vec.GP, (sel & 0xFFFCu) | ext);
        if (!s.Present) throw c.Fault(Vec.NP, (sel & 0xFFFCu) | ext);
        SetAccessed(c, addr, d);
        return s;
    }

    /// <summary>A stack-segment descriptor: writable data, RPL = DPL = <paramref name="cpl"/>, present.</summary>
    public static SegmentRegister LoadStackDescriptor(X86Cpu c, ushort sel, int cpl, int faultVector = Vec.GP)
    {
        if ((sel & 0xFFFC) == 0)
        {
            // A null SS is allowed in 64-bit mode below CPL3.
            if (c.Mode.LongMode && cpl < 3) return new SegmentRegister(sel, 0, 0, (ushort)(cpl << 5)); // DPL carries the CPL
            throw c.Fault(faultVector, 0);
        }
        ulong d = ReadDescriptor(c, sel, 0, out ulong addr);
        var s = SegmentRegister.FromDescriptor(sel, d);
        if ((sel & 3) != cpl || s.IsSystem || (s.Type & 0xA) != 2 || s.Dpl != cpl) throw c.Fault(faultVector, sel & 0xFFFCu);
        if (!s.Present) throw c.Fault(Vec.SS, sel & 0xFFFCu);
        SetAccessed(c, addr, d);
        return s;
    }

    public static void SetAccessed(X86Cpu c, ulong addr, ulong d)
    {
        if ((d & (1UL << 40)) == 0) c.StoreSystem(addr + 5, (byte)((d >> 40) | 1));
    }

    /// <summary>MOV/POP to a segment register (not CS): real mode sets base = sel*16; protected mode checks the descriptor.</summary>
    public static void LoadSegment(X86Cpu c, int seg, ushort sel)
    {
        if (!c.Mode.Protected || (c.Flags.Rflags & Rf.VM) != 0)
        {
            var r = c.Arch.Seg[seg];
            r.Selector = sel;
            r.Base = (ulong)sel << 4;
            c.Arch.Seg[seg] = r;
        }
        else if (seg == (int)Seg.Ss)
            c.Arch.Seg[seg] = LoadStackDescriptor(c, sel, c.Mode.Cpl);
        else if ((sel & 0xFFFC) == 0)
        {
            // Null selector: loads fine, faults on use (outside 64-bit mode). FS/GS keep no base.
            c.Arch.Seg[seg] = new SegmentRegister(sel, 0, 0, 0);
        }
        else
        {
            ulong d = ReadDescriptor(c, sel, 0, out ulong addr);
            var s = SegmentRegister.FromDescriptor(sel, d);
            bool code = (s.Type & 8) != 0;
            if (s.IsSystem || (code && (s.Type & 2) == 0)) throw c.Fault(Vec.GP, sel & 0xFFFCu);
            bool conformingCode = code && (s.Type & 4) != 0;
            if (!conformingCode && (s.Dpl < c.Mode.Cpl || s.Dpl < (sel & 3))) throw c.Fault(Vec.GP, sel & 0xFFFCu);
            if (!s.Present) throw c.Fault(Vec.NP, sel & 0xFFFCu);
            SetAccessed(c, addr, d);
            c.Arch.Seg[seg] = s;
        }
        c.UpdateMode();
    }

    public static readonly int[] DataSegments = { (int)Seg.Es, (int)Seg.Ds, (int)Seg.Fs, (int)Seg.Gs };

    /// <summary>After a return to an outer privilege level: data segments the new CPL may not use become null.</summary>
    public static void NullifyInaccessibleSegments(X86Cpu c)
    {
        foreach (int s in DataSegments)
        {
            var r = c.Arch.Seg[s];
            bool conformingCode = (r.Type & 0xC) == 0xC;
            if (!r.IsSystem && !conformingCode && r.Dpl < c.Mode.Cpl && (r.Selector & 0xFFFC) != 0)
                c.Arch.Seg[s] = new SegmentRegister(0, c.Mode.LongMode ? r.Base : 0, 0, 0);
        }
        c.UpdateMode();
    }

    /// <summary>Whether a non-null selector's descriptor lies inside its table (GDT or LDT).</summary>
    public static bool DescriptorInTable(X86Cpu c, ushort sel)
    {
        if ((sel & 0xFFFC) == 0) return true; // null: the caller's own check reports it
        bool ldt = (sel & 4) != 0;
        return (ulong)(sel & 0xFFF8) + 7 <= (ldt ? c.Arch.Ldtr.Limit : c.Arch.Gdtr.Limit) && !(ldt && c.Arch.Ldtr.Selector == 0);
    }

    /// <summary>Pushes <paramref name="width"/> bytes onto the stack <paramref name="ss"/> describes (8-byte pushes, which
    /// only long mode makes: flat).</summary>
    public static void PushOn(X86Cpu c, ref ulong sp, in SegmentRegister ss, int width, ulong value)
    {
        if (width == 8)
        {
            sp -= 8;
            c.Store(sp, value);
            return;
        }
        ulong mask = ss.DefaultBig ? 0xFFFFFFFF : 0xFFFF;
        sp = (sp & ~mask) | ((sp - (ulong)width) & mask);
        ulong lin = (ss.Base + (sp & mask)) & 0xFFFFFFFF;
        if (width == 4) c.Store(lin, (uint)value); else c.Store(lin, (ushort)value);
    }

    /// <summary>RSP after a stack switch or push: SP only for a 16-bit stack segment outside 64-bit mode.</summary>
    public static void SetStackPointer(X86Cpu c, ulong sp, in SegmentRegister ss)
    {
        if (c.Mode.LongMode || ss.DefaultBig) c.R(4) = c.Mode.LongMode ? sp : sp & 0xFFFFFFFF;
        else c.R(4) = (c.R(4) & ~0xFFFFUL) | (sp & 0xFFFF);
    }
}
