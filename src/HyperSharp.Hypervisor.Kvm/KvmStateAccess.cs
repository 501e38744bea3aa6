using HyperSharp.Hypervisor.Kvm.Interop;
using HyperSharp.Hypervisor.State;
using static HyperSharp.Hypervisor.Kvm.KvmStateConversion;

namespace HyperSharp.Hypervisor.Kvm;

/// <summary>Reads and writes a vCPU's complete state with the KVM_GET_*/KVM_SET_* ioctls, in the order KVM needs.</summary>
internal sealed unsafe class KvmStateAccess
{
    private const int LapicSize = 1024;

    private readonly int _fd;
    private readonly bool _hasLapic, _hasXsave, _hasXcrs, _hasDebugRegs;
    private readonly int _xsaveSize;
    private readonly uint[] _msrs;

    public KvmStateAccess(int vcpuFd, KvmSystem system, bool hasLapic)
    {
        _fd = vcpuFd;
        _hasLapic = hasLapic;
        _hasXsave = system.Capability(KvmIoctl.CapXsave) > 0;
        _xsaveSize = Math.Max(4096, system.Capability(KvmIoctl.CapXsave2)); // XSAVE2 reports the full size when > 4 KiB
        _hasXcrs = system.Capability(KvmIoctl.CapXcrs) > 0;
        _hasDebugRegs = system.Capability(KvmIoctl.CapDebugRegs) > 0;
        _msrs = KvmMsrs.Supported(vcpuFd);
    }

    public VirtualProcessorState Get()
    {
        KvmRegs regs;
        KvmSregs sregs;
        KvmVcpuEvents events;
        uint mpState;
        // Safe (all ioctls below): each argument is a stack struct or pinned array of the size the request encodes.
        KvmCall.Ioctl(_fd, KvmIoctl.GetRegs, &regs, "KVM_GET_REGS");
        KvmCall.Ioctl(_fd, KvmIoctl.GetSregs, &sregs, "KVM_GET_SREGS");
        KvmCall.Ioctl(_fd, KvmIoctl.GetVcpuEvents, &events, "KVM_GET_VCPU_EVENTS");
        KvmCall.Ioctl(_fd, KvmIoctl.GetMpState, &mpState, "KVM_GET_MP_STATE");

        byte[] xsave = [];
        byte[] fxsave;
        if (_hasXsave)
        {
            xsave = new byte[_xsaveSize];
            fixed (byte* p = xsave)
                KvmCall.Ioctl(_fd, _xsaveSize > 4096 ? KvmIoctl.GetXsave2 : KvmIoctl.GetXsave, p, "KVM_GET_XSAVE");
            fxsave = xsave[..512];
        }
        else
        {
            KvmFpu fpu;
            KvmCall.Ioctl(_fd, KvmIoctl.GetFpu, &fpu, "KVM_GET_FPU");
            fxsave = ToFxSave(fpu);
        }

        ulong xcr0 = 1;
        if (_hasXcrs)
        {
            KvmXcrs xcrs;
            KvmCall.Ioctl(_fd, KvmIoctl.GetXcrs, &xcrs, "KVM_GET_XCRS");
            for (int i = 0; i < Math.Min(xcrs.NrXcrs, 16u); i++)
                if ((uint)xcrs.Xcrs[2 * i] == 0) xcr0 = xcrs.Xcrs[2 * i + 1];
        }

        var dr = new ulong[4];
        ulong dr6 = 0xFFFF0FF0, dr7 = 0x400;
        if (_hasDebugRegs)
        {
            KvmDebugRegs d;
            KvmCall.Ioctl(_fd, KvmIoctl.GetDebugRegs, &d, "KVM_GET_DEBUGREGS");
            for (int i = 0; i < 4; i++) dr[i] = d.Db[i];
            dr6 = d.Dr6;
            dr7 = d.Dr7;
        }

        var msrs = new MsrEntry[_msrs.Length + 1];
        for (int i = 0; i < _msrs.Length; i++) msrs[i] = new MsrEntry(_msrs[i], 0);
        msrs[^1] = new MsrEntry(KvmMsrs.Tsc, 0);
        int read = KvmMsrs.TryGet(_fd, msrs);
        if (read != msrs.Length)
            throw new HypervisorException($"KVM_GET_MSRS read {read} of {msrs.Length} MSRs (stopped at 0x{msrs[read].Index:X}).");

        byte[] lapic = [];
        if (_hasLapic)
        {
            lapic = new byte[LapicSize];
            fixed (byte* p = lapic)
                KvmCall.Ioctl(_fd, KvmIoctl.GetLapic, p, "KVM_GET_LAPIC");
        }

        return new VirtualProcessorState
        {
            GeneralRegisters = ToGeneral(regs), Rip = regs.Rip, Rflags = regs.Rflags,
            Es = ToSegment(sregs.Es), Cs = ToSegment(sregs.Cs), Ss = ToSegment(sregs.Ss), Ds = ToSegment(sregs.Ds),
            Fs = ToSegment(sregs.Fs), Gs = ToSegment(sregs.Gs), Ldtr = ToSegment(sregs.Ldt), Tr = ToSegment(sregs.Tr),
            Gdtr = new TableRegister(sregs.Gdt.Base, sregs.Gdt.Limit), Idtr = new TableRegister(sregs.Idt.Base, sregs.Idt.Limit),
            Cr0 = sregs.Cr0, Cr2 = sregs.Cr2, Cr3 = sregs.Cr3, Cr4 = sregs.Cr4, Cr8 = sregs.Cr8, Efer = sregs.Efer, ApicBase = sregs.ApicBase,
            Xcr0 = xcr0, DebugAddress = dr, Dr6 = dr6, Dr7 = dr7,
            Msrs = msrs[..^1], Tsc = msrs[^1].Value,
            FxSave = fxsave, XSave = xsave,
            Events = ToEvents(events), RunState = (ProcessorRunState)mpState, LocalApic = lapic,
        };
    }

    public void Set(VirtualProcessorState s)
    {
        if (s.FxSave.Length != 512) throw new HypervisorException($"FXSAVE image is {s.FxSave.Length} bytes; 512 expected.");
        // Safe (all ioctls below): each argument is a stack struct or pinned array of the size the request encodes.
        var regs = FromGeneral(s);
        KvmCall.Ioctl(_fd, KvmIoctl.SetRegs, &regs, "KVM_SET_REGS");

        if (_hasXsave && s.XSave.Length > 0)
        {
            if (s.XSave.Length > _xsaveSize && s.XSave.AsSpan(_xsaveSize).ContainsAnyExcept((byte)0))
                throw new HypervisorException($"The saved XSAVE area ({s.XSave.Length} bytes) holds features this host's KVM cannot restore (max {_xsaveSize} bytes).");
            var area = new byte[_xsaveSize];
            s.XSave.AsSpan(0, Math.Min(s.XSave.Length, _xsaveSize)).CopyTo(area);
            fixed (byte* p = area)
                KvmCall.Ioctl(_fd, KvmIoctl.SetXsave, p, "KVM_SET_XSAVE");
        }
        else
        {
            var fpu = FromFxSave(s.FxSave);
            KvmCall.Ioctl(_fd, KvmIoctl.SetFpu, &fpu, "KVM_SET_FPU");
        }

        if (_hasXcrs)
        {
            var xcrs = new KvmXcrs { NrXcrs = 1 };
            xcrs.Xcrs[0] = 0; // XCR0
            xcrs.Xcrs[1] = s.Xcr0;
            KvmCall.Ioctl(_fd, KvmIoctl.SetXcrs, &xcrs, "KVM_SET_XCRS");
        }

        var sregs = new KvmSregs
        {
            Es = FromSegment(s.Es), Cs = FromSegment(s.Cs), Ss = FromSegment(s.Ss), Ds = FromSegment(s.Ds),
            Fs = FromSegment(s.Fs), Gs = FromSegment(s.Gs), Ldt = FromSegment(s.Ldtr), Tr = FromSegment(s.Tr),
            Gdt = new KvmDtable { Base = s.Gdtr.Base, Limit = s.Gdtr.Limit }, Idt = new KvmDtable { Base = s.Idtr.Base, Limit = s.Idtr.Limit },
            Cr0 = s.Cr0, Cr2 = s.Cr2, Cr3 = s.Cr3, Cr4 = s.Cr4, Cr8 = s.Cr8, Efer = s.Efer, ApicBase = s.ApicBase,
        };
        KvmCall.Ioctl(_fd, KvmIoctl.SetSregs, &sregs, "KVM_SET_SREGS");

        KvmMsrs.Set(_fd, s.Msrs);

        if (_hasLapic || s.RunState == ProcessorRunState.Runnable) // without an in-kernel APIC only "runnable" exists
        {
            uint mp = (uint)s.RunState;
            KvmCall.Ioctl(_fd, KvmIoctl.SetMpState, &mp, "KVM_SET_MP_STATE");
        }

        if (_hasLapic && s.LocalApic.Length > 0)
        {
            if (s.LocalApic.Length != LapicSize) throw new HypervisorException($"Local APIC page is {s.LocalApic.Length} bytes; {LapicSize} expected.");
            fixed (byte* p = s.LocalApic)
                KvmCall.Ioctl(_fd, KvmIoctl.SetLapic, p, "KVM_SET_LAPIC");
        }

        var events = FromEvents(s.Events);
        KvmCall.Ioctl(_fd, KvmIoctl.SetVcpuEvents, &events, "KVM_SET_VCPU_EVENTS");

        if (_hasDebugRegs)
        {
            var d = new KvmDebugRegs { Dr6 = s.Dr6, Dr7 = s.Dr7 };
            for (int i = 0; i < 4; i++) d.Db[i] = s.DebugAddress.Length > i ? s.DebugAddress[i] : 0;
            KvmCall.Ioctl(_fd, KvmIoctl.SetDebugRegs, &d, "KVM_SET_DEBUGREGS");
        }

        // TSC last: everything before it may take time, and the guest's clock should resume from the saved value.
        KvmMsrs.Set(_fd, [new MsrEntry(KvmMsrs.Tsc, s.Tsc)]);
    }
}
