using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

public sealed unsafe partial class X86Cpu
{

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref Vector128<byte> Xmm(int i) => ref Unsafe.Add(ref Unsafe.As<ArchState.XmmFile, Vector128<byte>>(ref Arch.Xmm), i);

    /// <summary>#UD without CR4.OSFXSR or with CR0.EM, #NM with CR0.TS: checked by every SSE handler.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void CheckSse()
    {
        if (((Arch.Cr0 & (Cr0EM | Cr0TS)) | (~Arch.Cr4 & Cr4OSFXSR)) != 0) SseUnavailable();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SseUnavailable()
    {
        if ((Arch.Cr0 & Cr0EM) != 0 || (Arch.Cr4 & Cr4OSFXSR) == 0) throw Fault(Vec.UD);
        throw Fault(Vec.NM);
    }

    /// <summary>
    /// Ends an SSE floating-point instruction's exception checks (SDM Vol. 1, 11.5.1): an unmasked pre-computation
    /// exception (IE DE ZE) in any element sets the pre-computation flags of all elements and faults before any
    /// result exists; otherwise all flags raised are set, and an unmasked post-computation exception (OE UE PE)
    /// faults too. Faulting leaves the destination unchanged: #XM with CR4.OSXMMEXCPT, else #UD.
    /// </summary>
    internal void CommitSimdExceptions(in FpStatus st)
    {
        uint unmasked = ~(Arch.Mxcsr >> 7) & 0x3F;
        if ((st.Pre & unmasked) != 0) { Arch.Mxcsr |= st.Pre; throw SimdFault(); }
        uint all = st.Pre | st.Post;
        Arch.Mxcsr |= all;
        if ((all & unmasked) != 0) throw SimdFault();
    }

    private GuestFault SimdFault() => Fault((Arch.Cr4 & Cr4OSXMMEXCPT) != 0 ? Vec.XM : Vec.UD);

    /// <summary>A 128-bit memory operand; <paramref name="aligned"/> forms #GP(0) on a misaligned address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Vector128<byte> Load128(ref DecodedInstruction d, bool aligned)
    {
        ulong lin = Lin(ref d);
        if (aligned && (lin & 15) != 0) throw Fault(Vec.GP, 0);
        return Load<Vector128<byte>>(lin);
    }

    internal void Store128(ref DecodedInstruction d, Vector128<byte> v, bool aligned)
    {
        ulong lin = Lin(ref d);
        if (aligned && (lin & 15) != 0) throw Fault(Vec.GP, 0);
        Store(lin, v);
    }

    /// <summary>MXCSR bits that may be set (DAZ included).</summary>
    internal const uint MxcsrMask = 0xFFFF;
}
