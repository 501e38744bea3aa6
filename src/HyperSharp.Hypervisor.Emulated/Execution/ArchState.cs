using System.Runtime.CompilerServices;
using HyperSharp.Hypervisor.Emulated.Decoding;
using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// The architectural state of one x86-64 logical processor as the instruction handlers read and write it:
/// general registers and RIP, segment and descriptor-table registers, control and debug registers, EFER and the other
/// MSRs (RFLAGS is <see cref="LazyFlags"/>, the x87/MMX registers <see cref="X87Stack"/> and the SSE registers
/// <see cref="SseRegisters"/>, fields of the processor beside it).
/// </summary>
/// <remarks>
/// A struct held in one field of <see cref="X86Cpu"/> (<c>Arch</c>) and reached by reference: its fields sit
/// inside the processor object as before, so a handler's access costs no extra indirection. What the processor
/// derives from this state (mode, CPL, segment bases, TLBs) and its event and run-loop bookkeeping stay in
/// X86Cpu; <see cref="CpuState"/> is the public snapshot GetState/SetState copy this to and from
/// (<see cref="SaveTo"/>, <see cref="LoadFrom"/>).
/// </remarks>
internal struct ArchState
{
    [InlineArray(18)]
    internal struct RegFile { private ulong _e0; }

    /// <summary>RAX..R15, RIP (16) and a constant zero (17); X86Cpu.R(i) indexes it.</summary>
    public RegFile Gpr;


    /// <summary>ES, CS, SS, DS, FS, GS as loaded (see X86Cpu.SegBase for the bases address arithmetic uses).</summary>
    public readonly SegmentRegister[] Seg;
    public SegmentRegister Ldtr, Tr;
    public DescriptorTableRegister Gdtr, Idtr;

    public ulong Cr0, Cr2, Cr3, Cr4, Cr8, Efer;
    public readonly ulong[] Dr;

    public ulong Star, Lstar, Cstar, Sfmask, KernelGsBase, SysenterCs, SysenterEsp, SysenterEip;
    public ulong TscAux, TscDeadline, ApicBase, Pat, MiscEnable;
    /// <summary>IA32_TSC_ADJUST: this processor's TSC minus the partition's clock (0 from power-on; guest TSC writes move it).</summary>
    public long TscAdjust;
    /// <summary>MSRs the processor keeps as plain storage.</summary>
    public readonly Dictionary<uint, ulong> OtherMsrs;

    public ArchState()
    {
        Seg = new SegmentRegister[6];
        Dr = new ulong[8];
        OtherMsrs = new();
    }

    /// <summary>Copies these registers into the snapshot <paramref name="s"/>; RFLAGS, the TSC, the x87/SSE registers and
    /// the event state belong to the processor's other fields, which copy themselves.</summary>
    public readonly void SaveTo(CpuState s)
    {
        for (int i = 0; i < 16; i++) s.Gpr[i] = Gpr[i];
        s.Rip = Gpr[DecodedInstruction.RipIndex];
        for (int i = 0; i < 6; i++) s.Segments[i] = Seg[i];
        s.Ldtr = Ldtr; s.Tr = Tr; s.Gdtr = Gdtr; s.Idtr = Idtr;
        s.Cr0 = Cr0; s.Cr2 = Cr2; s.Cr3 = Cr3; s.Cr4 = Cr4; s.Cr8 = Cr8; s.Efer = Efer;
        Array.Copy(Dr, s.Dr, 8);
        s.Star = Star; s.Lstar = Lstar; s.Cstar = Cstar; s.Sfmask = Sfmask; s.KernelGsBase = KernelGsBase;
        s.SysenterCs = SysenterCs; s.SysenterEsp = SysenterEsp; s.SysenterEip = SysenterEip;
        s.TscAdjust = TscAdjust; s.TscAux = TscAux; s.TscDeadline = TscDeadline; s.ApicBase = ApicBase; s.Pat = Pat;
        s.MiscEnable = MiscEnable;
        s.OtherMsrs = new Dictionary<uint, ulong>(OtherMsrs);
    }

    /// <summary>Loads these registers from the snapshot <paramref name="s"/> (the counterpart of <see cref="SaveTo"/>).</summary>
    public void LoadFrom(CpuState s)
    {
        for (int i = 0; i < 16; i++) Gpr[i] = s.Gpr[i];
        Gpr[DecodedInstruction.RipIndex] = s.Rip;
        for (int i = 0; i < 6; i++) Seg[i] = s.Segments[i];
        Ldtr = s.Ldtr; Tr = s.Tr; Gdtr = s.Gdtr; Idtr = s.Idtr;
        Cr0 = s.Cr0; Cr2 = s.Cr2; Cr3 = s.Cr3; Cr4 = s.Cr4; Cr8 = s.Cr8; Efer = s.Efer;
        Array.Copy(s.Dr, Dr, 8);
        Star = s.Star; Lstar = s.Lstar; Cstar = s.Cstar; Sfmask = s.Sfmask; KernelGsBase = s.KernelGsBase;
        SysenterCs = s.SysenterCs; SysenterEsp = s.SysenterEsp; SysenterEip = s.SysenterEip;
        TscAdjust = s.TscAdjust; TscAux = s.TscAux; TscDeadline = s.TscDeadline; ApicBase = s.ApicBase; Pat = s.Pat;
        MiscEnable = s.MiscEnable;
        OtherMsrs.Clear();
        foreach (var kv in s.OtherMsrs) OtherMsrs[kv.Key] = kv.Value;
    }
}
