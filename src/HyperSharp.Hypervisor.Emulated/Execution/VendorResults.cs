using System.Runtime.CompilerServices;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// What one vendor's processors produce where the manuals leave a result undefined; FLAGS.md is the contract, with
/// both vendors' columns and the evidence for each entry. Handlers with such results are generic over it and the
/// translator picks the presented vendor's instantiation once per decoded instruction, so the choice costs nothing
/// when the instruction runs: the JIT folds these constants and drops the other vendor's code.
/// </summary>
/// <remarks>
/// Where the two agree (BSF/BSR, BT*, the logical instructions' AF, SHL/SHR's CF past the operand width) the
/// handlers compute it directly.
/// </remarks>
internal interface IVendorResults
{
    /// <summary>
    /// OF after a shift or rotate by more than 1 (and SHLD/SHRD): the count-1 formula applied to the first step, i.e.
    /// to the original operand (Intel), or to the last step, i.e. read from the result (AMD). For a count of 1 both are
    /// the architectural value.
    /// </summary>
    static abstract bool OverflowFromOperand { get; }

    /// <summary>ROL/ROR of a register by an immediate count other than 1 (masked): OF unchanged (Intel), or computed as
    /// for a count in CL or a memory operand.</summary>
    static abstract bool RegisterRotateByImmediateKeepsOverflow { get; }

    /// <summary>AF after SHL, SHR, SAR, SHLD and SHRD by a nonzero count.</summary>
    static abstract bool ShiftAuxiliaryCarry { get; }

    /// <summary>
    /// RCL/RCR of a byte or word whose masked count is a multiple of 9 or 17 (the rotation through CF is a no-op):
    /// no flag changes (Intel), or CF and OF computed as for any other count (AMD).
    /// </summary>
    static abstract bool NoRotationKeepsFlags { get; }

    /// <summary>MUL and IMUL: CF = OF = <paramref name="overflow"/> (defined); SF, ZF, AF and PF are the vendor's.</summary>
    static abstract void MultiplyFlags(X86Cpu c, ulong low, ulong sign, bool overflow);

    /// <summary>DIV and IDIV that do not fault: every status flag is the vendor's.</summary>
    static abstract void DivideFlags(X86Cpu c);
}

/// <summary>GenuineIntel: measured on an Intel Xeon (family 6 model CFh) with the differential harness (FLAGS.md).</summary>
internal readonly struct IntelResults : IVendorResults
{
    public static bool OverflowFromOperand => true;
    public static bool RegisterRotateByImmediateKeepsOverflow => true;
    public static bool ShiftAuxiliaryCarry => false;
    public static bool NoRotationKeepsFlags => true;

    /// <summary>SF and PF from the low half (what is written to rAX / the destination), ZF = 0, AF = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyFlags(X86Cpu c, ulong low, ulong sign, bool overflow) => c.Flags.SetResultNotZero(low, sign, overflow, overflow);

    /// <summary>All status flags unchanged.</summary>
    public static void DivideFlags(X86Cpu c) { }
}

/// <summary>AuthenticAMD: as recorded on an AMD EPYC (the AMD hardware corpus, FLAGS.md).</summary>
internal readonly struct AmdResults : IVendorResults
{
    public static bool OverflowFromOperand => false;
    public static bool RegisterRotateByImmediateKeepsOverflow => false;
    public static bool ShiftAuxiliaryCarry => true;
    public static bool NoRotationKeepsFlags => false;

    /// <summary>SF, ZF, AF and PF unchanged.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyFlags(X86Cpu c, ulong low, ulong sign, bool overflow) => c.Flags.SetCarryAndOverflow(overflow, overflow);

    /// <summary>SF = ZF = PF = 0, AF = 1, CF and OF unchanged.</summary>
    public static void DivideFlags(X86Cpu c) => c.Flags.SetStatus(Rf.AF, Rf.SF | Rf.ZF | Rf.AF | Rf.PF);
}
