using static HyperSharp.Hypervisor.Emulated.Execution.SoftFloat;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>SSE conversions: between binary32 and binary64, and between them and signed integers, rounded under the MXCSR.</summary>
internal static class SoftFloatConversions
{
    /// <summary>CVTSS2SD / CVTSD2SS and their packed forms: NaNs keep sign and the top of the payload (quieted, IE for
    /// an SNaN); a denormal source raises DE (or is zero under DAZ); narrowing rounds under the MXCSR.</summary>
    public static ulong Convert(ulong a, in FloatFormat from, in FloatFormat to, ref FpStatus st)
    {
        bool negative = from.IsNegative(a);
        ulong sign = negative ? to.SignBit : 0;
        if (from.IsNaN(a))
        {
            if (from.IsSNaN(a)) st.Raise(IE);
            ulong payload = a & from.FracMask;
            payload = to.Frac >= from.Frac ? payload << (to.Frac - from.Frac) : payload >> (from.Frac - to.Frac);
            return sign | to.ExpMask | to.QuietBit | payload;
        }
        if (st.Daz) a = FlushDenormal(a, from);
        else if (from.IsDenormal(a)) st.Raise(DE);
        if (from.IsInf(a)) return sign | to.ExpMask;
        if (from.IsZero(a)) return sign;
        Unpack(a, from, out _, out int e, out ulong s);
        return RoundPack(negative, s, e, to, ref st);
    }

    /// <summary>CVTSI2SS/SD, CVTDQ2PS/PD, CVTPI2PS/PD: a signed integer, rounded under the MXCSR (PE only).</summary>
    public static ulong FromInteger(long v, in FloatFormat to, ref FpStatus st)
    {
        if (v == 0) return 0;
        UInt128 magnitude = v < 0 ? (UInt128)(-(Int128)v) : (UInt128)(ulong)v;
        return RoundPack(v < 0, magnitude, 0, to, ref st);
    }

    /// <summary>
    /// CVT(T)SS2SI, CVT(T)SD2SI, CVT(T)PS2DQ, CVT(T)PD2DQ, CVT(T)PS2PI, CVT(T)PD2PI to a <paramref name="bits"/>-bit
    /// integer: rounded by MXCSR.RC or truncated; a NaN, an infinity or a value out of range is invalid (IE) and gives
    /// the "integer indefinite" (only the sign bit set); otherwise PE when inexact. Denormals never raise DE here.
    /// </summary>
    public static long ToInteger(ulong a, in FloatFormat f, int bits, bool truncate, ref FpStatus st)
    {
        long indefinite = bits == 64 ? long.MinValue : int.MinValue;
        if (f.IsNaN(a) || f.IsInf(a)) { st.Raise(IE); return indefinite; }
        if (st.Daz) a = FlushDenormal(a, f);
        if (f.IsZero(a)) return 0;
        Unpack(a, f, out bool negative, out int e, out ulong s);
        if (e > 64) { st.Raise(IE); return indefinite; }
        UInt128 magnitude;
        bool inexact = false;
        if (e >= 0) magnitude = (UInt128)s << e;
        else
        {
            (ulong kept, inexact) = Round(s, -e, negative, truncate ? RoundTowardZero : st.Rc);
            magnitude = kept;
        }
        UInt128 limit = (UInt128.One << (bits - 1)) - (negative ? UInt128.Zero : UInt128.One);
        if (magnitude > limit) { st.Raise(IE); return indefinite; }
        if (inexact) st.Raise(PE);
        return (long)(negative ? -(Int128)magnitude : (Int128)magnitude);
    }
}
