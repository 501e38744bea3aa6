using System.Numerics;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>An IEEE 754 binary format: binary32 (SSE "single") or binary64 ("double"), values kept as raw bits in a ulong.</summary>
internal readonly struct FloatFormat
{
    public readonly int Frac;        // stored fraction bits (23 / 52); precision is Frac + 1
    public readonly int Bias;        // 127 / 1023; also the largest unbiased exponent
    public readonly ulong SignBit, ExpMask, FracMask, QuietBit;

    public FloatFormat(int fracBits, int expBits)
    {
        Frac = fracBits;
        Bias = (1 << (expBits - 1)) - 1;
        SignBit = 1UL << (fracBits + expBits);
        ExpMask = ((1UL << expBits) - 1) << fracBits;
        FracMask = (1UL << fracBits) - 1;
        QuietBit = 1UL << (fracBits - 1);
    }

    public int Emin => 1 - Bias;
    /// <summary>The "QNaN floating-point indefinite" x86 returns for invalid operations: negative, quiet, zero payload.</summary>
    public ulong DefaultNaN => SignBit | ExpMask | QuietBit;
    public ulong MaxFinite => (ExpMask - (1UL << Frac)) | FracMask;

    public bool IsNaN(ulong x) => (x & ExpMask) == ExpMask && (x & FracMask) != 0;
    public bool IsSNaN(ulong x) => IsNaN(x) && (x & QuietBit) == 0;
    public bool IsInf(ulong x) => (x & ~SignBit) == ExpMask;
    public bool IsZero(ulong x) => (x & ~SignBit) == 0;
    public bool IsDenormal(ulong x) => (x & ExpMask) == 0 && (x & FracMask) != 0;
    public bool IsNegative(ulong x) => (x & SignBit) != 0;
}

/// <summary>
/// The MXCSR an SSE instruction runs under and the exception flags its elements raise, kept apart as pre-computation
/// (IE DE ZE: decided from the operands) and post-computation (OE UE PE: decided by rounding the result), because
/// an unmasked exception of the first kind stops the instruction before any result exists (SDM Vol. 1, 11.5.1).
/// </summary>
internal struct FpStatus(uint mxcsr)
{
    public readonly uint Mxcsr = mxcsr;
    public uint Pre, Post;

    public readonly uint Rc => (Mxcsr >> 13) & 3;
    public readonly bool Daz => (Mxcsr & SoftFloat.Daz) != 0;
    public readonly bool Ftz => (Mxcsr & SoftFloat.Ftz) != 0;
    public readonly bool Masked(uint flag) => ((Mxcsr >> 7) & flag) != 0;
    public void Raise(uint flags) { Pre |= flags & SoftFloat.PreFlags; Post |= flags & ~SoftFloat.PreFlags; }
}

/// <summary>
/// Binary32/binary64 arithmetic in software with the exact x86 SSE semantics: rounding control, every exception flag,
/// FTZ and DAZ. Each operation forms the exact result as an integer significand times a power of two (wide enough,
/// or with a sticky bit below all the bits that can matter) and rounds it once, so no host floating-point state is
/// involved and there is no double rounding. Tininess is detected after rounding, as x86 does. This class holds what
/// the operations share (the flag bits, the formats, unpacking and the one rounding step); the operations themselves
/// are <see cref="SoftFloatArithmetic"/> and <see cref="SoftFloatConversions"/>.
/// </summary>
internal static class SoftFloat
{
    public const uint IE = 1, DE = 2, ZE = 4, OE = 8, UE = 0x10, PE = 0x20, PreFlags = IE | DE | ZE;
    public const uint Daz = 0x40, Ftz = 0x8000;
    public const uint RoundNearest = 0, RoundDown = 1, RoundUp = 2, RoundTowardZero = 3;

    public static readonly FloatFormat Binary32 = new(23, 8), Binary64 = new(52, 11);

    /// <summary>Value = sig * 2^e (subnormals: the smallest exponent, no implicit bit).</summary>
    internal static void Unpack(ulong x, in FloatFormat f, out bool negative, out int e, out ulong sig)
    {
        negative = f.IsNegative(x);
        int biased = (int)((x & f.ExpMask) >> f.Frac);
        sig = x & f.FracMask;
        if (biased == 0) e = f.Emin - f.Frac;
        else { sig |= 1UL << f.Frac; e = biased - f.Bias - f.Frac; }
    }

    /// <summary>As <see cref="Unpack"/>, with the leading bit moved to bit Frac (subnormals get a smaller exponent).</summary>
    internal static void UnpackNormalized(ulong x, in FloatFormat f, out bool negative, out int e, out ulong sig)
    {
        Unpack(x, f, out negative, out e, out sig);
        int shift = BitOperations.LeadingZeroCount(sig) - (63 - f.Frac);
        sig <<= shift;
        e -= shift;
    }

    /// <summary>DAZ: a denormal source counts as a zero of its sign.</summary>
    internal static ulong FlushDenormal(ulong x, in FloatFormat f) => f.IsDenormal(x) ? x & f.SignBit : x;

    /// <summary>Drops the low <paramref name="shift"/> bits of <paramref name="sig"/>, rounding by <paramref name="rc"/>.</summary>
    internal static (ulong Kept, bool Inexact) Round(UInt128 sig, int shift, bool negative, uint rc)
    {
        if (shift <= 0) return ((ulong)(sig << -shift), false);
        UInt128 kept = shift >= 128 ? UInt128.Zero : sig >> shift;
        UInt128 rest = shift >= 128 ? sig : sig & ((UInt128.One << shift) - 1);
        if (rest == 0) return ((ulong)kept, false);
        bool up = rc switch
        {
            RoundNearest => shift <= 128 && (rest > (UInt128.One << (shift - 1)) || (rest == (UInt128.One << (shift - 1)) && (kept & 1) != 0)),
            RoundDown => negative,
            RoundUp => !negative,
            _ => false,
        };
        return ((ulong)kept + (up ? 1UL : 0), true);
    }

    /// <summary>
    /// Rounds the exact value (-1)^negative * sig * 2^e (sig nonzero; any bits beyond the exact value are a sticky 1
    /// below the rounding position) to the format under the MXCSR, raising OE UE PE as x86 does: overflow gives
    /// infinity or the largest finite by RC; a result that is tiny after rounding is flushed to zero under FTZ with
    /// UE PE (underflow masked), else denormalized with UE PE when that loses bits; unmasked, UE or OE, with PE when the result rounded with an unbounded exponent is inexact.
    /// </summary>
    internal static ulong RoundPack(bool negative, UInt128 sig, int e, in FloatFormat f, ref FpStatus st)
    {
        ulong sign = negative ? f.SignBit : 0;
        int n = 128 - (int)UInt128.LeadingZeroCount(sig);
        int precision = f.Frac + 1;
        int exponent = e + n - 1;
        var (m, inexact) = Round(sig, n - precision, negative, st.Rc);
        if (m >> precision != 0) { m >>= 1; exponent++; }
        if (exponent >= f.Emin)
        {
            if (exponent > f.Bias) return Overflow(negative, inexact, f, ref st);
            if (inexact) st.Raise(PE);
            return sign | ((ulong)(exponent + f.Bias) << f.Frac) | (m & f.FracMask);
        }
        bool underflowMasked = st.Masked(UE);
        if (st.Ftz && underflowMasked) { st.Raise(UE | PE); return sign; }
        // Unmasked, a tiny result is an underflow whether exact or not; PE then says whether the result rounded to the
        // full precision with an unbounded exponent was inexact (as for overflow). No result is written.
        if (!underflowMasked) { st.Raise(UE | (inexact ? PE : 0)); return 0; }
        var (d, lost) = Round(sig, f.Emin - f.Frac - e, negative, st.Rc);
        if (lost) st.Raise(UE | PE);
        return sign | d; // d = 2^Frac (rounded up to the smallest normal) encodes itself
    }

    internal static ulong Overflow(bool negative, bool inexact, in FloatFormat f, ref FpStatus st)
    {
        if (!st.Masked(OE)) { st.Raise(OE | (inexact ? PE : 0)); return 0; } // no result is written
        st.Raise(OE | PE);
        uint rc = st.Rc;
        bool toInfinity = rc == RoundNearest || (rc == RoundDown && negative) || (rc == RoundUp && !negative);
        return (negative ? f.SignBit : 0) | (toInfinity ? f.ExpMask : f.MaxFinite);
    }

    /// <summary>The exact zero a sum of opposite values gives: +0, or -0 when rounding down.</summary>
    internal static ulong ExactZero(in FloatFormat f, in FpStatus st) => st.Rc == RoundDown ? f.SignBit : 0;
}
