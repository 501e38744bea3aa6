using static HyperSharp.Hypervisor.Emulated.Execution.SoftFloat;
using static HyperSharp.Hypervisor.Emulated.Execution.SoftFloatFastPath;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>SSE arithmetic on binary32/binary64 values: add, subtract, multiply, divide, square root, min/max, compare; the host
/// FPU where <see cref="SoftFloatFastPath"/> can prove its result exact, else exact software rounding (<see cref="SoftFloat"/>).</summary>
internal static class SoftFloatArithmetic
{
    /// <summary>
    /// The operand checks every two-operand operation starts with, in the SDM's priority order (Vol. 1, 4.9.2 and
    /// Table 4-7): a NaN operand decides the result (the first operand's NaN if it is one, else the second's,
    /// quieted; IE for an SNaN) and precludes the denormal check; DAZ turns denormals into zeros. True when a NaN
    /// decided; <paramref name="denormal"/> says a denormal operand remains (DE, unless a higher-priority exception wins).
    /// </summary>
    private static bool Operands(ref ulong a, ref ulong b, in FloatFormat f, ref FpStatus st, out ulong nan, out bool denormal)
    {
        denormal = false;
        if (f.IsNaN(a) || f.IsNaN(b))
        {
            if (f.IsSNaN(a) || f.IsSNaN(b)) st.Raise(IE);
            nan = (f.IsNaN(a) ? a : b) | f.QuietBit;
            return true;
        }
        nan = 0;
        if (st.Daz) { a = FlushDenormal(a, f); b = FlushDenormal(b, f); }
        else denormal = f.IsDenormal(a) || f.IsDenormal(b);
        return false;
    }

    public static ulong Add(ulong a, ulong b, bool subtract, in FloatFormat f, ref FpStatus st)
    {
        if (TryFastAdd(a, b, subtract, f, ref st, out ulong fast)) return fast;
        if (Operands(ref a, ref b, f, ref st, out ulong nan, out bool denormal)) return nan;
        if (subtract) b ^= f.SignBit;
        if (f.IsInf(a) && f.IsInf(b) && f.IsNegative(a) != f.IsNegative(b)) { st.Raise(IE); return f.DefaultNaN; }
        if (denormal) st.Raise(DE);
        if (f.IsInf(a)) return a;
        if (f.IsInf(b)) return b;
        if (f.IsZero(a) && f.IsZero(b)) return f.IsNegative(a) == f.IsNegative(b) ? a : ExactZero(f, st);
        // x + 0 is x, but still goes through rounding: a denormal x is a tiny result (FTZ, underflow).
        if (f.IsZero(b)) return Exact(a, f, ref st);
        if (f.IsZero(a)) return Exact(b, f, ref st);
        Unpack(a, f, out bool na, out int ea, out ulong sa);
        Unpack(b, f, out bool nb, out int eb, out ulong sb);
        if (ea < eb) { (na, ea, sa, nb, eb, sb) = (nb, eb, sb, na, ea, sa); }
        // Align to the smaller exponent when that keeps the sum exact in 128 bits; farther apart, the smaller operand
        // lies wholly below 64 guard bits of the larger (a normal number) and only its stickiness matters.
        int distance = ea - eb, e;
        UInt128 x, y;
        if (distance <= 64) { x = (UInt128)sa << distance; y = sb; e = eb; }
        else { x = (UInt128)sa << 64; y = ShiftRightJam(sb, distance - 64); e = ea - 64; }
        UInt128 r; bool negative;
        if (na == nb) { r = x + y; negative = na; }
        else if (x >= y) { r = x - y; negative = na; }
        else { r = y - x; negative = nb; }
        if (r == 0) return ExactZero(f, st);
        return RoundPack(negative, r, e, f, ref st);
    }

    public static ulong Mul(ulong a, ulong b, in FloatFormat f, ref FpStatus st)
    {
        if (TryFastMul(a, b, f, ref st, out ulong fast)) return fast;
        if (Operands(ref a, ref b, f, ref st, out ulong nan, out bool denormal)) return nan;
        ulong sign = (a ^ b) & f.SignBit;
        if ((f.IsInf(a) && f.IsZero(b)) || (f.IsZero(a) && f.IsInf(b))) { st.Raise(IE); return f.DefaultNaN; }
        if (denormal) st.Raise(DE);
        if (f.IsInf(a) || f.IsInf(b)) return sign | f.ExpMask;
        if (f.IsZero(a) || f.IsZero(b)) return sign;
        Unpack(a, f, out _, out int ea, out ulong sa);
        Unpack(b, f, out _, out int eb, out ulong sb);
        return RoundPack(sign != 0, (UInt128)sa * sb, ea + eb, f, ref st);
    }

    public static ulong Div(ulong a, ulong b, in FloatFormat f, ref FpStatus st)
    {
        if (TryFastDiv(a, b, f, ref st, out ulong fast)) return fast;
        if (Operands(ref a, ref b, f, ref st, out ulong nan, out bool denormal)) return nan;
        ulong sign = (a ^ b) & f.SignBit;
        if ((f.IsInf(a) && f.IsInf(b)) || (f.IsZero(a) && f.IsZero(b))) { st.Raise(IE); return f.DefaultNaN; }
        if (f.IsZero(b) && !f.IsInf(a)) { st.Raise(ZE); return sign | f.ExpMask; }
        if (denormal) st.Raise(DE);
        if (f.IsInf(a)) return sign | f.ExpMask;
        if (f.IsInf(b) || f.IsZero(a)) return sign;
        UnpackNormalized(a, f, out _, out int ea, out ulong sa);
        UnpackNormalized(b, f, out _, out int eb, out ulong sb);
        // Both significands have their leading bit at Frac: the quotient of sa*2^72 by sb has 72 or 73 bits, plenty
        // above the precision, and a nonzero remainder becomes the sticky bit.
        UInt128 dividend = (UInt128)sa << 72;
        UInt128 q = dividend / sb;
        if (dividend % sb != 0) q |= 1;
        return RoundPack(sign != 0, q, ea - eb - 72, f, ref st);
    }

    public static ulong Sqrt(ulong a, in FloatFormat f, ref FpStatus st)
    {
        if (TryFastSqrt(a, f, ref st, out ulong fast)) return fast;
        if (f.IsNaN(a)) { if (f.IsSNaN(a)) st.Raise(IE); return a | f.QuietBit; }
        if (st.Daz) a = FlushDenormal(a, f);
        if (f.IsZero(a)) return a;
        if (f.IsNegative(a)) { st.Raise(IE); return f.DefaultNaN; }
        if (f.IsDenormal(a)) st.Raise(DE);
        if (f.IsInf(a)) return a;
        UnpackNormalized(a, f, out _, out int e, out ulong s);
        if ((e & 1) != 0) { s <<= 1; e--; }
        UInt128 radicand = (UInt128)s << 72; // up to 126 bits: a 63-bit root
        ulong root = ISqrt(radicand);
        UInt128 r = root;
        if (r * r != radicand) r |= 1;
        return RoundPack(false, r, (e - 72) / 2, f, ref st);
    }

    /// <summary>MINSS/MAXSS etc.: any NaN (quiet too) is invalid and returns the second operand, as do two zeros;
    /// otherwise the smaller (larger) value, the second on equality. Under DAZ the operand returned is the flushed one.</summary>
    public static ulong MinMax(ulong a, ulong b, bool max, in FloatFormat f, ref FpStatus st)
    {
        if (st.Daz) { a = FlushDenormal(a, f); b = FlushDenormal(b, f); }
        if (f.IsNaN(a) || f.IsNaN(b)) { st.Raise(IE); return b; }
        if (!st.Daz && (f.IsDenormal(a) || f.IsDenormal(b))) st.Raise(DE);
        int c = CompareOrdered(a, b, f);
        return (max ? c > 0 : c < 0) ? a : b;
    }

    /// <summary>Compares: -1, 0, 1, or 2 when unordered. A signalling compare (COMIS, CMP LT/LE/NLT/NLE) raises IE for
    /// any NaN, a quiet one only for an SNaN.</summary>
    public static int Compare(ulong a, ulong b, bool signalling, in FloatFormat f, ref FpStatus st)
    {
        if (f.IsNaN(a) || f.IsNaN(b))
        {
            if (signalling || f.IsSNaN(a) || f.IsSNaN(b)) st.Raise(IE);
            return 2;
        }
        if (st.Daz) { a = FlushDenormal(a, f); b = FlushDenormal(b, f); }
        else if (f.IsDenormal(a) || f.IsDenormal(b)) st.Raise(DE);
        return CompareOrdered(a, b, f);
    }

    /// <summary>Orders two non-NaN values (the two zeros are equal) through their sign-magnitude encodings.</summary>
    private static int CompareOrdered(ulong a, ulong b, in FloatFormat f)
    {
        if (f.IsZero(a) && f.IsZero(b)) return 0;
        long ka = f.IsNegative(a) ? -(long)(a & ~f.SignBit) : (long)a;
        long kb = f.IsNegative(b) ? -(long)(b & ~f.SignBit) : (long)b;
        return ka.CompareTo(kb);
    }

    /// <summary>A value that is exactly representable, rounded only for its tininess (FTZ, underflow flags).</summary>
    private static ulong Exact(ulong x, in FloatFormat f, ref FpStatus st)
    {
        if (!f.IsDenormal(x)) return x;
        Unpack(x, f, out bool negative, out int e, out ulong s);
        return RoundPack(negative, s, e, f, ref st);
    }

    private static UInt128 ShiftRightJam(ulong x, int shift)
        => shift >= 64 ? (x != 0 ? 1UL : 0) : (x >> shift) | ((x & ((1UL << shift) - 1)) != 0 ? 1UL : 0);

    /// <summary>floor(sqrt(x)) for x below 2^126: a double estimate, one Newton step, then exact correction.</summary>
    private static ulong ISqrt(UInt128 x)
    {
        UInt128 r = (ulong)Math.Sqrt((double)x);
        if (r != 0) r = (r + x / r) >> 1;
        while (r * r > x) r--;
        while ((r + 1) * (r + 1) <= x) r++;
        return (ulong)r;
    }
}
