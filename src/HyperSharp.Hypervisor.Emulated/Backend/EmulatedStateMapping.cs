using System.Buffers.Binary;
using HyperSharp.Hypervisor.State;
using CpuSegment = HyperSharp.Hypervisor.Emulated.State.SegmentRegister;
using CpuState = HyperSharp.Hypervisor.Emulated.State.CpuState;

namespace HyperSharp.Hypervisor.Emulated.Backend;

/// <summary>
/// Converts between the emulator's own <see cref="CpuState"/> and the backend-neutral
/// <see cref="VirtualProcessorState"/> record (segment attributes share the VMX layout; x87/SSE
/// state goes through the FXSAVE image; MSRs without a field of their own go in the MSR list).
/// </summary>
internal static class EmulatedStateMapping
{
    private const uint MsrStar = 0xC000_0081, MsrLstar = 0xC000_0082, MsrCstar = 0xC000_0083, MsrSfmask = 0xC000_0084,
        MsrKernelGsBase = 0xC000_0102, MsrSysenterCs = 0x174, MsrSysenterEsp = 0x175, MsrSysenterEip = 0x176,
        MsrTscAux = 0xC000_0103, MsrTscDeadline = 0x6E0, MsrPat = 0x277, MsrMiscEnable = 0x1A0, MsrTscAdjust = 0x3B;

    public static VirtualProcessorState ToRecord(CpuState s, ProcessorRunState runState, byte[] localApic)
    {
        var msrs = new List<MsrEntry>
        {
            new(MsrStar, s.Star), new(MsrLstar, s.Lstar), new(MsrCstar, s.Cstar), new(MsrSfmask, s.Sfmask),
            new(MsrKernelGsBase, s.KernelGsBase), new(MsrSysenterCs, s.SysenterCs), new(MsrSysenterEsp, s.SysenterEsp),
            new(MsrSysenterEip, s.SysenterEip), new(MsrTscAux, s.TscAux), new(MsrTscDeadline, s.TscDeadline),
            new(MsrPat, s.Pat), new(MsrMiscEnable, s.MiscEnable), new(MsrTscAdjust, (ulong)s.TscAdjust),
        };
        msrs.AddRange(s.OtherMsrs.Select(m => new MsrEntry(m.Key, m.Value)));
        return new VirtualProcessorState
        {
            GeneralRegisters = (ulong[])s.Gpr.Clone(),
            Rip = s.Rip, Rflags = s.Rflags,
            Es = Seg(s.Segments[0]), Cs = Seg(s.Segments[1]), Ss = Seg(s.Segments[2]), Ds = Seg(s.Segments[3]), Fs = Seg(s.Segments[4]), Gs = Seg(s.Segments[5]),
            Ldtr = Seg(s.Ldtr), Tr = Seg(s.Tr),
            Gdtr = new TableRegister(s.Gdtr.Base, s.Gdtr.Limit), Idtr = new TableRegister(s.Idtr.Base, s.Idtr.Limit),
            Cr0 = s.Cr0, Cr2 = s.Cr2, Cr3 = s.Cr3, Cr4 = s.Cr4, Cr8 = s.Cr8, Efer = s.Efer, ApicBase = s.ApicBase,
            DebugAddress = s.Dr[..4], Dr6 = s.Dr[6], Dr7 = s.Dr[7],
            Msrs = [.. msrs],
            FxSave = FxSave(s.Fpu),
            Events = new PendingEvents
            {
                InterruptInjected = s.PendingInterrupt >= 0, InterruptVector = (byte)Math.Max(0, s.PendingInterrupt),
                InterruptShadow = (byte)(s.InterruptShadow ? 1 : 0), NmiPending = s.NmiPending,
            },
            RunState = s.Halted && runState == ProcessorRunState.Runnable ? ProcessorRunState.Halted : runState,
            LocalApic = localApic,
            Tsc = s.Tsc,
        };
    }

    public static CpuState FromRecord(VirtualProcessorState r)
    {
        var s = new CpuState
        {
            Gpr = (ulong[])r.GeneralRegisters.Clone(), Rip = r.Rip, Rflags = r.Rflags | 2,
            Segments = [Seg(r.Es), Seg(r.Cs), Seg(r.Ss), Seg(r.Ds), Seg(r.Fs), Seg(r.Gs)],
            Ldtr = Seg(r.Ldtr), Tr = Seg(r.Tr),
            Gdtr = new() { Base = r.Gdtr.Base, Limit = r.Gdtr.Limit }, Idtr = new() { Base = r.Idtr.Base, Limit = r.Idtr.Limit },
            Cr0 = r.Cr0, Cr2 = r.Cr2, Cr3 = r.Cr3, Cr4 = r.Cr4, Cr8 = r.Cr8, Efer = r.Efer, ApicBase = r.ApicBase == 0 ? 0xFEE0_0900 : r.ApicBase,
            Tsc = r.Tsc, Pat = 0x0007040600070406, MiscEnable = 1,
            Fpu = FromFxSave(r.XSave.Length >= 512 ? r.XSave : r.FxSave),
            PendingInterrupt = r.Events.InterruptInjected && !r.Events.InterruptSoft ? r.Events.InterruptVector : -1,
            NmiPending = r.Events.NmiPending || r.Events.NmiInjected,
            InterruptShadow = r.Events.InterruptShadow != 0,
            Halted = r.RunState == ProcessorRunState.Halted,
        };
        var dr = new ulong[8];
        r.DebugAddress.AsSpan(0, Math.Min(4, r.DebugAddress.Length)).CopyTo(dr);
        dr[6] = r.Dr6 == 0 ? 0xFFFF0FF0 : r.Dr6;
        dr[7] = r.Dr7 == 0 ? 0x400 : r.Dr7;
        s.Dr = dr;
        foreach (var m in r.Msrs)
        {
            switch (m.Index)
            {
                case MsrStar: s.Star = m.Value; break;
                case MsrLstar: s.Lstar = m.Value; break;
                case MsrCstar: s.Cstar = m.Value; break;
                case MsrSfmask: s.Sfmask = m.Value; break;
                case MsrKernelGsBase: s.KernelGsBase = m.Value; break;
                case MsrSysenterCs: s.SysenterCs = m.Value; break;
                case MsrSysenterEsp: s.SysenterEsp = m.Value; break;
                case MsrSysenterEip: s.SysenterEip = m.Value; break;
                case MsrTscAux: s.TscAux = m.Value; break;
                case MsrTscDeadline: s.TscDeadline = m.Value; break;
                case MsrPat: s.Pat = m.Value; break;
                case MsrMiscEnable: s.MiscEnable = m.Value; break;
                case MsrTscAdjust: s.TscAdjust = (long)m.Value; break;
                default: s.OtherMsrs[m.Index] = m.Value; break;
            }
        }
        return s;
    }

    private static SegmentRegister Seg(CpuSegment s) =>
        new(s.Selector, s.Base, s.Limit, s.Attributes == 0 && s.Selector == 0 ? SegmentRegister.Unusable : s.Attributes);

    private static CpuSegment Seg(SegmentRegister s) =>
        new(s.Selector, s.Base, s.Limit, (ushort)((s.Attributes & SegmentRegister.Unusable) != 0 ? 0 : s.Attributes & 0xF0FF));

    /// <summary>The 512-byte FXSAVE image (Intel SDM vol. 1, 10.5.1), with the full tag word abridged to one bit per register.</summary>
    private static byte[] FxSave(State.FpuState f)
    {
        var b = new byte[512];
        var s = b.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(s, f.Fcw);
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], f.Fsw);
        byte abridged = 0;
        for (int i = 0; i < 8; i++) if (((f.Ftw >> (2 * i)) & 3) != 3) abridged |= (byte)(1 << i);
        s[4] = abridged;
        BinaryPrimitives.WriteUInt16LittleEndian(s[6..], f.Fop);
        BinaryPrimitives.WriteUInt64LittleEndian(s[8..], f.Fip);
        BinaryPrimitives.WriteUInt64LittleEndian(s[16..], f.Fdp);
        BinaryPrimitives.WriteUInt32LittleEndian(s[24..], f.Mxcsr);
        BinaryPrimitives.WriteUInt32LittleEndian(s[28..], 0xFFFF);
        // The image holds the stack in ST(i) order; FpuState.St is indexed by physical register.
        int top = (f.Fsw >> 11) & 7;
        for (int i = 0; i < 8; i++) BinaryPrimitives.WriteUInt128LittleEndian(s[(32 + 16 * i)..], f.St[(top + i) & 7] & ((UInt128.One << 80) - 1));
        for (int i = 0; i < 16; i++) BinaryPrimitives.WriteUInt128LittleEndian(s[(160 + 16 * i)..], f.Xmm[i]);
        return b;
    }

    private static State.FpuState FromFxSave(byte[] b)
    {
        var s = b.AsSpan();
        var f = new State.FpuState
        {
            Fcw = BinaryPrimitives.ReadUInt16LittleEndian(s), Fsw = BinaryPrimitives.ReadUInt16LittleEndian(s[2..]),
            Fop = BinaryPrimitives.ReadUInt16LittleEndian(s[6..]), Fip = BinaryPrimitives.ReadUInt64LittleEndian(s[8..]),
            Fdp = BinaryPrimitives.ReadUInt64LittleEndian(s[16..]), Mxcsr = BinaryPrimitives.ReadUInt32LittleEndian(s[24..]),
        };
        if (f.Fcw == 0 && f.Mxcsr == 0) { f.Fcw = 0x037F; f.Mxcsr = 0x1F80; } // an all-zero image means "reset state"
        ushort ftw = 0;
        for (int i = 0; i < 8; i++) ftw |= (ushort)(((s[4] >> i) & 1) != 0 ? 0 : 3 << (2 * i)); // valid registers read back as "valid"
        f.Ftw = ftw;
        int top = (f.Fsw >> 11) & 7;
        for (int i = 0; i < 8; i++) f.St[(top + i) & 7] = BinaryPrimitives.ReadUInt128LittleEndian(s[(32 + 16 * i)..]) & ((UInt128.One << 80) - 1);
        for (int i = 0; i < 16; i++) f.Xmm[i] = BinaryPrimitives.ReadUInt128LittleEndian(s[(160 + 16 * i)..]);
        return f;
    }
}
