using System.Runtime.CompilerServices;
using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Execution;

public sealed unsafe partial class X86Cpu
{
    /// <summary>A snapshot of the complete architectural state. Call only while the vCPU is not running.</summary>
    public CpuState GetState()
    {
        var s = new CpuState();
        for (int i = 0; i < 16; i++) s.Gpr[i] = R(i);
        s.Rip = Rip;
        s.Rflags = Rflags;
        for (int i = 0; i < 6; i++) s.Segments[i] = Arch.Seg[i];
        s.Ldtr = Arch.Ldtr; s.Tr = Arch.Tr; s.Gdtr = Arch.Gdtr; s.Idtr = Arch.Idtr;
        s.Cr0 = Arch.Cr0; s.Cr2 = Arch.Cr2; s.Cr3 = Arch.Cr3; s.Cr4 = Arch.Cr4; s.Cr8 = Arch.Cr8; s.Efer = Arch.Efer;
        Array.Copy(Arch.Dr, s.Dr, 8);
        s.Star = Arch.Star; s.Lstar = Arch.Lstar; s.Cstar = Arch.Cstar; s.Sfmask = Arch.Sfmask; s.KernelGsBase = Arch.KernelGsBase;
        s.SysenterCs = Arch.SysenterCs; s.SysenterEsp = Arch.SysenterEsp; s.SysenterEip = Arch.SysenterEip;
        s.Tsc = Tsc; s.TscAdjust = Arch.TscAdjust; s.TscAux = Arch.TscAux; s.TscDeadline = Arch.TscDeadline; s.ApicBase = Arch.ApicBase; s.Pat = Arch.Pat;
        s.MiscEnable = Arch.MiscEnable;
        s.OtherMsrs = new Dictionary<uint, ulong>(Arch.OtherMsrs);
        s.Fpu = CloneFpu(_x87.Regs);
        Sse.SaveTo(s.Fpu);
        lock (_eventLock) { s.PendingInterrupt = _pendingVector; s.NmiPending = _nmiPending; s.NmiBlocked = _nmiBlocked; }
        s.InterruptShadow = _shadow;
        s.Halted = _halted;
        return s;
    }

    /// <summary>
    /// Loads a complete architectural state. Call only while the vCPU is not running. The TSC is one clock for the
    /// partition, so setting this processor's TSC sets that clock (to the TSC minus this processor's TSC_ADJUST): after a
    /// restore every processor continues from the count it was saved at, still equal to the others'.
    /// </summary>
    public void SetState(CpuState s)
    {
        for (int i = 0; i < 16; i++) R(i) = s.Gpr[i];
        Rip = s.Rip;
        Rflags = s.Rflags;
        for (int i = 0; i < 6; i++) Arch.Seg[i] = s.Segments[i];
        Arch.Ldtr = s.Ldtr; Arch.Tr = s.Tr; Arch.Gdtr = s.Gdtr; Arch.Idtr = s.Idtr;
        Arch.Cr0 = s.Cr0; Arch.Cr2 = s.Cr2; Arch.Cr3 = s.Cr3; Arch.Cr4 = s.Cr4; Arch.Cr8 = s.Cr8; Arch.Efer = s.Efer;
        Array.Copy(s.Dr, Arch.Dr, 8);
        Arch.Star = s.Star; Arch.Lstar = s.Lstar; Arch.Cstar = s.Cstar; Arch.Sfmask = s.Sfmask; Arch.KernelGsBase = s.KernelGsBase;
        Arch.SysenterCs = s.SysenterCs; Arch.SysenterEsp = s.SysenterEsp; Arch.SysenterEip = s.SysenterEip;
        Arch.TscAdjust = s.TscAdjust;
        _clock.SetCount((long)s.Tsc - s.TscAdjust);
        Arch.TscAux = s.TscAux; Arch.TscDeadline = s.TscDeadline; Arch.ApicBase = s.ApicBase; Arch.Pat = s.Pat;
        Arch.MiscEnable = s.MiscEnable;
        Arch.OtherMsrs.Clear();
        foreach (var kv in s.OtherMsrs) Arch.OtherMsrs[kv.Key] = kv.Value;
        _x87.Regs = CloneFpu(s.Fpu);
        Sse.LoadFrom(s.Fpu);
        lock (_eventLock)
        {
            _pendingVector = s.PendingInterrupt; _nmiPending = s.NmiPending; _nmiBlocked = s.NmiBlocked;
            RecomputeAttention();
        }
        _shadow = s.InterruptShadow;
        _halted = s.Halted;
        UpdateMode();
        UpdateBreakpoints();
    }

    private static FpuState CloneFpu(FpuState f) => new()
    {
        Fcw = f.Fcw, Fsw = f.Fsw, Ftw = f.Ftw, Fop = f.Fop, Fip = f.Fip, Fdp = f.Fdp, Mxcsr = f.Mxcsr,
        St = (UInt128[])f.St.Clone(), Xmm = (UInt128[])f.Xmm.Clone(),
    };
}
