using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// A processor's SSE register file: XMM0-15 and MXCSR, live, and the MXCSR rules every SSE instruction ends with
/// (which exception flags stick, whether the instruction faults).
/// </summary>
/// <remarks>A struct in its processor's field (<c>X86Cpu.Sse</c>), like <see cref="X87Stack"/>: a handler reaches the
/// registers through the same one reference as when they were fields of <see cref="ArchState"/>. The CR0/CR4 checks
/// that decide whether SSE is usable stay with the processor, which owns the control registers.</remarks>
internal struct SseRegisters
{
    [InlineArray(16)]
    internal struct XmmFile { private Vector128<byte> _e0; }

    private XmmFile _xmm;

    public uint Mxcsr;

    /// <summary>MXCSR bits that may be set (DAZ included).</summary>
    public const uint MxcsrMask = 0xFFFF;

    /// <summary>MXCSR at power-on and INIT: every exception masked, round to nearest.</summary>
    public const uint PowerOnMxcsr = 0x1F80;

    public SseRegisters() => Mxcsr = PowerOnMxcsr;

    /// <summary>XMM<paramref name="i"/> (0-15) by reference.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [UnscopedRef]
    public ref Vector128<byte> Xmm(int i) => ref Unsafe.Add(ref Unsafe.As<XmmFile, Vector128<byte>>(ref _xmm), i);

    /// <summary>Power-on and INIT: all XMM registers zero, MXCSR at its default.</summary>
    public void Reset()
    {
        _xmm = default;
        Mxcsr = PowerOnMxcsr;
    }

    /// <summary>
    /// Ends an SSE floating-point instruction's exception checks (SDM Vol. 1, 11.5.1): an unmasked pre-computation
    /// exception (IE DE ZE) in any element sets the pre-computation flags of all elements and faults before any
    /// result exists; otherwise all flags raised are set, and an unmasked post-computation exception (OE UE PE)
    /// faults too. Returns true when the instruction faults (leaving its destination unchanged).
    /// </summary>
    public bool CommitExceptions(in FpStatus st)
    {
        uint unmasked = ~(Mxcsr >> 7) & 0x3F;
        if ((st.Pre & unmasked) != 0) { Mxcsr |= st.Pre; return true; }
        uint all = st.Pre | st.Post;
        Mxcsr |= all;
        return (all & unmasked) != 0;
    }

    /// <summary>Copies XMM0-15 and MXCSR into the snapshot record <paramref name="f"/>.</summary>
    public void SaveTo(FpuState f)
    {
        for (int i = 0; i < 16; i++) f.Xmm[i] = Unsafe.As<Vector128<byte>, UInt128>(ref Xmm(i));
        f.Mxcsr = Mxcsr;
    }

    /// <summary>Loads XMM0-15 and MXCSR from the snapshot record <paramref name="f"/>.</summary>
    public void LoadFrom(FpuState f)
    {
        for (int i = 0; i < 16; i++) Xmm(i) = Unsafe.As<UInt128, Vector128<byte>>(ref f.Xmm[i]);
        Mxcsr = f.Mxcsr;
    }
}
