using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// What a processor derives from CR0, EFER, RFLAGS.VM, CS and SS, and reads on hot paths: the operating mode (protected,
/// paging, long), the code size, CPL, the address and stack-pointer widths and the segment bases address arithmetic uses.
/// </summary>
/// <remarks>A struct in its processor's field (<c>X86Cpu.Mode</c>), like <see cref="SoftTlb"/>: one reference away, as
/// when these were X86Cpu's own fields. <see cref="X86Cpu.UpdateMode"/> recomputes it whenever its inputs change.</remarks>
internal struct ProcessorMode
{
    [InlineArray(6)]
    internal struct SegBaseFile { private ulong _e0; }

    /// <summary>Code size of CS: 16, 32 or 64 (decode mode).</summary>
    public int Bitness;
    public int Cpl;
    /// <summary>Linear addresses wrap at 4 GiB outside 64-bit mode.</summary>
    public ulong LinMask;
    /// <summary>Width of the stack pointer: SS.B outside 64-bit mode.</summary>
    public ulong StackMask;
    public bool LongMode, Paging, Protected;

    /// <summary>Bases used for address arithmetic: 0 for ES/CS/SS/DS in 64-bit mode.</summary>
    private SegBaseFile _segBase;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [UnscopedRef]
    public ref ulong SegBase(int i) => ref Unsafe.Add(ref Unsafe.As<SegBaseFile, ulong>(ref _segBase), i);

    /// <summary>Recomputes every field from the registers it derives from.</summary>
    public void Update(in ArchState arch, ulong rflags)
    {
        Protected = (arch.Cr0 & ControlRegisters.Cr0PE) != 0;
        Paging = (arch.Cr0 & ControlRegisters.Cr0PG) != 0 && Protected;
        LongMode = (arch.Efer & ControlRegisters.EferLMA) != 0;
        ref var cs = ref arch.Seg[(int)Seg.Cs];
        bool vm86 = (rflags & Rf.VM) != 0;
        if (LongMode && cs.Long) Bitness = 64;
        else if (Protected && !vm86 && cs.DefaultBig) Bitness = 32;
        else Bitness = 16;
        // CPL is SS.DPL (as VMX defines it): unlike CS.RPL it is right in the instant after CR0.PE is set,
        // when CS still holds a real-mode selector, and every privilege change loads SS.
        Cpl = !Protected ? 0 : vm86 ? 3 : arch.Seg[(int)Seg.Ss].Dpl;
        LinMask = Bitness == 64 ? ulong.MaxValue : 0xFFFFFFFF;
        StackMask = Bitness == 64 ? ulong.MaxValue : arch.Seg[(int)Seg.Ss].DefaultBig ? 0xFFFFFFFF : 0xFFFF;
        for (int i = 0; i < 6; i++)
            SegBase(i) = Bitness == 64 && i < (int)Seg.Fs ? 0 : arch.Seg[i].Base;
    }

    /// <summary>
    /// The low bits of the access key for accesses at <paramref name="cpl"/>: 1 supervisor, 2 user, 3 user with
    /// alignment checking (CR0.AM, RFLAGS.AC and CPL 3). Key 3 never enters the data TLBs, so every access takes
    /// the slow path, which raises #AC for a misaligned one; the fast paths stay free of the check.
    /// </summary>
    public static ulong PrivilegeKey(int cpl, ulong cr0, ulong rflags)
        => cpl != 3 ? 1UL : (cr0 & ControlRegisters.Cr0AM) != 0 && (rflags & Rf.AC) != 0 ? 3UL : 2UL;
}
