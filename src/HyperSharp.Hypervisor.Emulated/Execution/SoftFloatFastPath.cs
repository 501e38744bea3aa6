using static HyperSharp.Hypervisor.Emulated.Execution.SoftFloat;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// The common case on the host's own double arithmetic: round to nearest, normal (or zero) operands and a result far
/// enough from the underflow and overflow thresholds that no flag but PE can arise. .NET runs with the default MXCSR
/// (round to nearest, no FTZ/DAZ), so a host operation gives the correctly rounded result; PE comes from an exact
/// error term (TwoSum for sums, a fused multiply-add for products, quotients and roots), exact under those bounds.
/// binary32 is computed in binary64 and rounded once more: for + - * / and sqrt that double rounding is innocuous
/// (53 >= 2*24 + 2). Anything else returns false and takes the exact software path, which the differential tests
/// compare with the processor together with this one.
/// </summary>
internal static class SoftFloatFastPath
{
    private static readonly double MinSafe64 = Math.ScaleB(1, -1021), MinSafe32 = Math.ScaleB(1, -125);
    /// <summary>Bounds inside which every error term of a product, quotient or root is an exact binary64 value.</summary>
    private static readonly double ExactLow = Math.ScaleB(1, -900), ExactHigh = Math.ScaleB(1, 900);

    /// <summary>Normal or zero: not denormal, infinite or NaN.</summary>
    private static bool Ordinary(ulong x, in FloatFormat f)
    {
        ulong e = x & f.ExpMask;
        return e != f.ExpMask && (e != 0 || (x & f.FracMask) == 0);
    }

    /// <summary>Zero, or normal and finite with room below (never tiny, even after rounding) and no overflow.</summary>
    private static bool Safe(double r, bool single)
    {
        double m = Math.Abs(r);
        return m == 0 || (m >= (single ? MinSafe32 : MinSafe64) && m <= (single ? float.MaxValue : double.MaxValue));
    }

    private static bool InExactRange(double v) => Math.Abs(v) is var m && m >= ExactLow && m <= ExactHigh;

    private static double Value(ulong x, in FloatFormat f)
        => f.Frac == 52 ? BitConverter.UInt64BitsToDouble(x) : BitConverter.UInt32BitsToSingle((uint)x);

    private static ulong Bits(double r, in FloatFormat f)
        => f.Frac == 52 ? BitConverter.DoubleToUInt64Bits(r) : BitConverter.SingleToUInt32Bits((float)r);

    /// <summary>Rounds a binary64 value to the format (binary32: once more, to nearest) and says whether it is safe: a
    /// nonzero value that became zero underflowed.</summary>
    private static bool Narrow(double wide, in FloatFormat f, out double r)
    {
        r = f.Frac == 52 ? wide : (float)wide;
        return Safe(r, f.Frac != 52) && (r != 0 || wide == 0);
    }

    internal static bool TryFastAdd(ulong a, ulong b, bool subtract, in FloatFormat f, ref FpStatus st, out ulong result)
    {
        result = 0;
        if (st.Rc != RoundNearest || !Ordinary(a, f) || !Ordinary(b, f)) return false;
        double x = Value(a, f), y = subtract ? -Value(b, f) : Value(b, f);
        double s = x + y;
        if (!Narrow(s, f, out double r)) return false;
        double bb = s - x;
        bool inexact = (x - (s - bb)) + (y - bb) != 0 || r != s;
        if (inexact) st.Raise(PE);
        result = Bits(r, f);
        return true;
    }

    internal static bool TryFastMul(ulong a, ulong b, in FloatFormat f, ref FpStatus st, out ulong result)
    {
        result = 0;
        if (st.Rc != RoundNearest || !Ordinary(a, f) || !Ordinary(b, f)) return false;
        double x = Value(a, f), y = Value(b, f);
        double p = x * y;
        if (x == 0 || y == 0) { result = Bits(p, f); return true; }
        if (!InExactRange(p) || !Narrow(p, f, out double r)) return false;
        if (Math.FusedMultiplyAdd(x, y, -p) != 0 || r != p) st.Raise(PE);
        result = Bits(r, f);
        return true;
    }

    internal static bool TryFastDiv(ulong a, ulong b, in FloatFormat f, ref FpStatus st, out ulong result)
    {
        result = 0;
        if (st.Rc != RoundNearest || !Ordinary(a, f) || !Ordinary(b, f) || f.IsZero(b)) return false;
        double x = Value(a, f), y = Value(b, f);
        if (x == 0) { result = Bits(x / y, f); return true; }
        double q = x / y;
        if (!InExactRange(x) || !InExactRange(y) || !InExactRange(q) || !Narrow(q, f, out double r)) return false;
        // r * y is exact in binary64 for binary32 operands, and x - q*y is an exact binary64 for binary64 ones.
        if (Math.FusedMultiplyAdd(-r, y, x) != 0) st.Raise(PE);
        result = Bits(r, f);
        return true;
    }

    internal static bool TryFastSqrt(ulong a, in FloatFormat f, ref FpStatus st, out ulong result)
    {
        result = 0;
        if (st.Rc != RoundNearest || !Ordinary(a, f) || (f.IsNegative(a) && !f.IsZero(a))) return false;
        if (f.IsZero(a)) { result = a; return true; }
        double x = Value(a, f);
        if (!InExactRange(x) || !Narrow(Math.Sqrt(x), f, out double r)) return false;
        if (Math.FusedMultiplyAdd(-r, r, x) != 0) st.Raise(PE);
        result = Bits(r, f);
        return true;
    }
}
