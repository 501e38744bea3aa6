using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Execution;

public sealed unsafe partial class X86Cpu
{
    /// <summary>Reads the 8-byte descriptor a selector names (GDT or LDT), #GP(selector) past the limit.</summary>
    internal ulong ReadDescriptor(ushort sel, uint ext, out ulong address)
    {
        bool ldt = (sel & 4) != 0;
        ulong tableBase = ldt ? Arch.Ldtr.Base : Arch.Gdtr.Base;
        ulong limit = ldt ? Arch.Ldtr.Limit : Arch.Gdtr.Limit;
        ulong off = (ulong)(sel & 0xFFF8);
        if (off + 7 > limit || (ldt && Arch.Ldtr.Selector == 0)) throw Fault(Vec.GP, (sel & 0xFFFCu) | ext);
        address = tableBase + off;
        return LoadSystem<ulong>(address);
    }

    /// <summary>A code-segment descriptor for a control transfer: must be non-null, code, present.</summary>
    internal SegmentRegister LoadCodeDescriptor(ushort sel, uint ext = 0)
    {
        if ((sel & 0xFFFC) == 0) throw Fault(Vec.GP, ext);
        ulong d = ReadDescriptor(sel, ext, out ulong addr);
        var s = SegmentRegister.FromDescriptor(sel, d);
        if (s.IsSystem || (s.Type & 8) == 0) throw Fault(Vec.GP, (sel & 0xFFFCu) | ext);
        if (!s.Present) throw Fault(Vec.NP, (sel & 0xFFFCu) | ext);
        SetAccessed(addr, d);
        return s;
    }

    /// <summary>A stack-segment descriptor: writable data, RPL = DPL = <paramref name="cpl"/>, present.</summary>
    internal SegmentRegister LoadStackDescriptor(ushort sel, int cpl, int faultVector = Vec.GP)
    {
        if ((sel & 0xFFFC) == 0)
        {
            // A null SS is allowed in 64-bit mode below CPL3.
            if (_longMode && cpl < 3) return new SegmentRegister(sel, 0, 0, (ushort)(cpl << 5)); // DPL carries the CPL
            throw Fault(faultVector, 0);
        }
        ulong d = ReadDescriptor(sel, 0, out ulong addr);
        var s = SegmentRegister.FromDescriptor(sel, d);
        if ((sel & 3) != cpl || s.IsSystem || (s.Type & 0xA) != 2 || s.Dpl != cpl) throw Fault(faultVector, sel & 0xFFFCu);
        if (!s.Present) throw Fault(Vec.SS, sel & 0xFFFCu);
        SetAccessed(addr, d);
        return s;
    }

    internal void SetAccessed(ulong addr, ulong d)
    {
        if ((d & (1UL << 40)) == 0) StoreSystem(addr + 5, (byte)((d >> 40) | 1));
    }

    /// <summary>MOV/POP to a segment register (not CS): real mode sets base = sel*16; protected mode checks the descriptor.</summary>
    internal void LoadSegment(int seg, ushort sel)
    {
        if (!_protected || (Flags.Rflags & Rf.VM) != 0)
        {
            var r = Arch.Seg[seg];
            r.Selector = sel;
            r.Base = (ulong)sel << 4;
            Arch.Seg[seg] = r;
        }
        else if (seg == (int)Seg.Ss)
            Arch.Seg[seg] = LoadStackDescriptor(sel, _cpl);
        else if ((sel & 0xFFFC) == 0)
        {
            // Null selector: loads fine, faults on use (outside 64-bit mode). FS/GS keep no base.
            Arch.Seg[seg] = new SegmentRegister(sel, 0, 0, 0);
        }
        else
        {
            ulong d = ReadDescriptor(sel, 0, out ulong addr);
            var s = SegmentRegister.FromDescriptor(sel, d);
            bool code = (s.Type & 8) != 0;
            if (s.IsSystem || (code && (s.Type & 2) == 0)) throw Fault(Vec.GP, sel & 0xFFFCu);
            bool conformingCode = code && (s.Type & 4) != 0;
            if (!conformingCode && (s.Dpl < _cpl || s.Dpl < (sel & 3))) throw Fault(Vec.GP, sel & 0xFFFCu);
            if (!s.Present) throw Fault(Vec.NP, sel & 0xFFFCu);
            SetAccessed(addr, d);
            Arch.Seg[seg] = s;
        }
        UpdateMode();
    }

    internal static readonly int[] DataSegments = { (int)Seg.Es, (int)Seg.Ds, (int)Seg.Fs, (int)Seg.Gs };

    /// <summary>After a return to an outer privilege level: data segments the new CPL may not use become null.</summary>
    internal void NullifyInaccessibleSegments()
    {
        foreach (int s in DataSegments)
        {
            var r = Arch.Seg[s];
            bool conformingCode = (r.Type & 0xC) == 0xC;
            if (!r.IsSystem && !conformingCode && r.Dpl < _cpl && (r.Selector & 0xFFFC) != 0)
                Arch.Seg[s] = new SegmentRegister(0, _longMode ? r.Base : 0, 0, 0);
        }
        UpdateMode();
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
