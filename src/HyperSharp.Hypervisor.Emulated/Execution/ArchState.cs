using System.Runtime.CompilerServices;
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
/// X86Cpu; <see cref="CpuState"/> is the public snapshot GetState/SetState copy this to and from.
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
}
