using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
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
        for (int i = 0; i < 6; i++) s.Segments[i] = _seg[i];
        s.Ldtr = _ldtr; s.Tr = _tr; s.Gdtr = _gdtr; s.Idtr = _idtr;
        s.Cr0 = _cr0; s.Cr2 = _cr2; s.Cr3 = _cr3; s.Cr4 = _cr4; s.Cr8 = _cr8; s.Efer = _efer;
        Array.Copy(_dr, s.Dr, 8);
        s.Star = _star; s.Lstar = _lstar; s.Cstar = _cstar; s.Sfmask = _sfmask; s.KernelGsBase = _kernelGsBase;
        s.SysenterCs = _sysenterCs; s.SysenterEsp = _sysenterEsp; s.SysenterEip = _sysenterEip;
        s.Tsc = Tsc; s.TscAdjust = _tscAdjust; s.TscAux = _tscAux; s.TscDeadline = _tscDeadline; s.ApicBase = _apicBase; s.Pat = _pat;
        s.MiscEnable = _miscEnable;
        s.OtherMsrs = new Dictionary<uint, ulong>(_otherMsrs);
        s.Fpu = CloneFpu(_fpu);
        for (int i = 0; i < 16; i++) s.Fpu.Xmm[i] = Unsafe.As<Vector128<byte>, UInt128>(ref Xmm(i));
        s.Fpu.Mxcsr = _mxcsr;
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
        for (int i = 0; i < 6; i++) _seg[i] = s.Segments[i];
        _ldtr = s.Ldtr; _tr = s.Tr; _gdtr = s.Gdtr; _idtr = s.Idtr;
        _cr0 = s.Cr0; _cr2 = s.Cr2; _cr3 = s.Cr3; _cr4 = s.Cr4; _cr8 = s.Cr8; _efer = s.Efer;
        Array.Copy(s.Dr, _dr, 8);
        _star = s.Star; _lstar = s.Lstar; _cstar = s.Cstar; _sfmask = s.Sfmask; _kernelGsBase = s.KernelGsBase;
        _sysenterCs = s.SysenterCs; _sysenterEsp = s.SysenterEsp; _sysenterEip = s.SysenterEip;
        _tscAdjust = s.TscAdjust;
        _clock.SetCount((long)s.Tsc - s.TscAdjust);
        _tscAux = s.TscAux; _tscDeadline = s.TscDeadline; _apicBase = s.ApicBase; _pat = s.Pat;
        _miscEnable = s.MiscEnable;
        _otherMsrs.Clear();
        foreach (var kv in s.OtherMsrs) _otherMsrs[kv.Key] = kv.Value;
        _fpu = CloneFpu(s.Fpu);
        for (int i = 0; i < 16; i++) Xmm(i) = Unsafe.As<UInt128, Vector128<byte>>(ref s.Fpu.Xmm[i]);
        _mxcsr = s.Fpu.Mxcsr;
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
