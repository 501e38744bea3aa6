using System.Numerics;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>x87 exception flags (FSW bits 0-5).</summary>
[Flags]
internal enum FpExc { None = 0, Invalid = 1, Denormal = 2, ZeroDivide = 4, Overflow = 8, Underflow = 0x10, Precision = 0x20 }

/// <summary>
/// An 80-bit x87 extended-precision value (64-bit significand with explicit integer bit, 15-bit exponent)
/// and exactly rounded arithmetic on it, per IEEE 754 and the SDM's x87 rules: rounding control
/// (nearest-even, down, up, toward zero) and precision control (24/53/64 bits), denormals, infinities,
/// NaN propagation (larger significand wins, SNaNs quieted), "real indefinite" for invalid operations.
/// Software only, so results are identical on every host.
/// </summary>
internal readonly struct Float80
{
    public readonly ulong Mant;
    public readonly ushort SignExp;

    public Float80(ulong mant, ushort signExp) { Mant = mant; SignExp = signExp; }

    public bool Sign => (SignExp & 0x8000) != 0;
    public int BiasedExp => SignExp & 0x7FFF;
    public bool IsNaN => BiasedExp == 0x7FFF && (Mant >> 63) != 0 && (Mant << 1) != 0;
    public bool IsSNaN => IsNaN && (Mant & 0x4000000000000000) == 0;
    public bool IsInf => BiasedExp == 0x7FFF && Mant == 0x8000000000000000;
    /// <summary>Unnormal, pseudo-NaN or pseudo-infinity (nonzero exponent, integer bit clear): the 387 and later reject
    /// these encodings as operands with an invalid-operation exception (SDM Vol. 1, 8.2.2); MMX writes produce them.</summary>
    public bool IsUnsupported => BiasedExp != 0 && (Mant >> 63) == 0;
    public bool IsZero => BiasedExp == 0 && Mant == 0;
    public bool IsDenormal => BiasedExp == 0 && Mant != 0;

    public static readonly Float80 Indefinite = new(0xC000000000000000, 0xFFFF);
    public static readonly Float80 Zero = new(0, 0);
    public static readonly Float80 One = new(0x8000000000000000, 0x3FFF);
    public static Float80 Inf(bool neg) => new(0x8000000000000000, (ushort)(neg ? 0xFFFF : 0x7FFF));
    public Float80 Negate() => new(Mant, (ushort)(SignExp ^ 0x8000));
    public Float80 Abs() => new(Mant, (ushort)(SignExp & 0x7FFF));
    public Float80 Quiet() => new(Mant | 0x4000000000000000, SignExp);

    // ---- unpacking: value = mant * 2^(exp - 63), mant normalized (bit 63 set) unless zero ----
    private void Unpack(out bool sign, out int exp, out ulong mant)
    {
        sign = Sign;
        mant = Mant;
        if (BiasedExp == 0)
        {
            if (mant == 0) { exp = 0; return; }
            int lz = BitOperations.LeadingZeroCount(mant);
            mant <<= lz;
            exp = 1 - 16383 - lz;
            return;
        }
        exp = BiasedExp - 16383;
    }

    /// <summary>Rounds sign * sig * 2^(e - 127) (sig's bit 127 set) to <paramref name="precision"/> significand
    /// bits and packs it, with extended exponent range (the x87 keeps it even at 24/53-bit precision).</summary>
    internal static Float80 Round(bool sign, int e, UInt128 sig, int precision, int rc, ref FpExc exc)
    {
        if (sig == 0) return new Float80(0, (ushort)(sign ? 0x8000 : 0));
        int lz = LeadingZeros(sig);
        sig <<= lz; e -= lz;
        int biased = e + 16383;
        if (biased <= 0)
        {
            // Denormal: shift right so the exponent field is 1 (shown as 0), keeping a sticky bit.
            int shift = 1 - biased;
            sig = shift >= 128 ? (sig != 0 ? (UInt128)1 : 0) : (sig >> shift) | ((sig & (((UInt128)1 << shift) - 1)) != 0 ? 1 : (UInt128)0);
            biased = 1;
            bool tiny = true;
            UInt128 r = RoundSig(sig, precision, sign, rc, out bool inexact, out bool carry);
            if (inexact) exc |= FpExc.Precision;
            if (tiny && inexact) exc |= FpExc.Underflow;
            ulong mant = (ulong)(r >> 64);
            if (carry) mant = 0x8000000000000000; // rounded up into the smallest normal
            int field = (mant & 0x8000000000000000) != 0 ? 1 : 0;
            return new Float80(mant, (ushort)((sign ? 0x8000 : 0) | field));
        }
        UInt128 rounded = RoundSig(sig, precision, sign, rc, out bool inx, out bool overflowCarry);
        if (inx) exc |= FpExc.Precision;
        ulong m = (ulong)(rounded >> 64);
        if (overflowCarry) { m = 0x8000000000000000; biased++; }
        if (biased >= 0x7FFF)
        {
            exc |= FpExc.Overflow | FpExc.Precision;
            bool toInf = rc == 0 || (rc == 1 && sign) || (rc == 2 && !sign);
            if (toInf) return Inf(sign);
            ulong max = precision == 64 ? ulong.MaxValue : ulong.MaxValue << (64 - precision);
            return new Float80(max, (ushort)((sign ? 0x8000 : 0) | 0x7FFE));
        }
        return new Float80(m, (ushort)((sign ? 0x8000 : 0) | biased));
    }

    /// <summary>Rounds the 128-bit significand to its top <paramref name="precision"/> bits (result still
    /// left-aligned); carry = the rounding overflowed to 2^128.</summary>
    private static UInt128 RoundSig(UInt128 sig, int precision, bool sign, int rc, out bool inexact, out bool carry)
    {
        int drop = 128 - precision;
        UInt128 unit = (UInt128)1 << drop;
        UInt128 rest = sig & (unit - 1);
        UInt128 kept = sig - rest;
        inexact = rest != 0;
        carry = false;
        bool up = rc switch
        {
            0 => rest > (unit >> 1) || (rest == (unit >> 1) && (kept & unit) != 0),
            1 => inexact && sign,
            2 => inexact && !sign,
            _ => false,
        };
        if (up)
        {
            kept += unit;
            if (kept == 0) carry = true;
        }
        return kept;
    }

    private static int LeadingZeros(UInt128 v)
    {
        ulong hi = (ulong)(v >> 64);
        return hi != 0 ? BitOperations.LeadingZeroCount(hi) : 64 + BitOperations.LeadingZeroCount((ulong)v);
    }

    // ---- NaN rules ----
    /// <summary>SDM Vol. 1 table 4-7: a QNaN beats an SNaN; two of a kind give the larger significand (the positive one on a tie);
    /// the result is always quiet, and any SNaN raises Invalid.</summary>
    private static Float80 PropagateNaN(Float80 a, Float80 b, ref FpExc exc)
    {
        if (a.IsUnsupported || b.IsUnsupported) { exc |= FpExc.Invalid; return Indefinite; }
        if (a.IsSNaN || b.IsSNaN) exc |= FpExc.Invalid;
        if (a.IsNaN && b.IsNaN)
        {
            if (a.IsSNaN != b.IsSNaN) return a.IsSNaN ? b.Quiet() : a.Quiet();
            ulong fa = a.Mant & 0x3FFFFFFFFFFFFFFF, fb = b.Mant & 0x3FFFFFFFFFFFFFFF;
            // Equal significands: hardware returns the positive one (seen by the sequence differential test).
            if (fa == fb) return (b.SignExp < a.SignExp ? b : a).Quiet();
            return fb > fa ? b.Quiet() : a.Quiet();
        }
        return a.IsNaN ? a.Quiet() : b.Quiet();
    }

    private static void NoteDenormals(Float80 a, Float80 b, ref FpExc exc)
    {
        if (a.IsDenormal || b.IsDenormal) exc |= FpExc.Denormal;
    }

    // ---- arithmetic ----
    public static Float80 Add(Float80 a, Float80 b, int precision, int rc, ref FpExc exc, bool subtract = false)
    {
        if (subtract) b = b.IsNaN ? b : b.Negate();
        if (a.IsNaN || b.IsNaN || a.IsUnsupported || b.IsUnsupported) return PropagateNaN(a, b, ref exc);
        NoteDenormals(a, b, ref exc);
        if (a.IsInf || b.IsInf)
        {
            if (a.IsInf && b.IsInf && a.Sign != b.Sign) { exc |= FpExc.Invalid; return Indefinite; }
            return a.IsInf ? a : b;
        }
        a.Unpack(out bool sa, out int ea, out ulong ma);
        b.Unpack(out bool sb, out int eb, out ulong mb);
        if (ma == 0 && mb == 0) return new Float80(0, (ushort)((sa && sb) || (sa != sb && rc == 1) ? 0x8000 : 0));
        if (ma == 0) return Round(sb, eb, (UInt128)mb << 64, precision, rc, ref exc); // value = mb * 2^(eb - 63)
        if (mb == 0) return Round(sa, ea, (UInt128)ma << 64, precision, rc, ref exc);
        // value = m * 2^(e-63); as sig with bit 125 = integer bit: sig = m << 62, value = sig * 2^(e - 125)
        UInt128 x = (UInt128)ma << 62, y = (UInt128)mb << 62;
        if (ea < eb || (ea == eb && ma < mb)) { (x, y) = (y, x); (ea, eb) = (eb, ea); (sa, sb) = (sb, sa); }
        int shift = ea - eb;
        if (shift > 0) y = shift >= 127 ? 1 : (y >> shift) | ((y & (((UInt128)1 << shift) - 1)) != 0 ? 1 : (UInt128)0);
        UInt128 r;
        bool sign = sa;
        if (sa == sb) r = x + y;
        else
        {
            r = x - y;
            if (r == 0) return new Float80(0, (ushort)(rc == 1 ? 0x8000 : 0));
        }
        return Round(sign, ea + 2, r, precision, rc, ref exc); // value = r * 2^(ea - 125) = r * 2^((ea + 2) - 127)
    }

    public static Float80 Mul(Float80 a, Float80 b, int precision, int rc, ref FpExc exc)
    {
        if (a.IsNaN || b.IsNaN || a.IsUnsupported || b.IsUnsupported) return PropagateNaN(a, b, ref exc);
        NoteDenormals(a, b, ref exc);
        bool sign = a.Sign != b.Sign;
        if (a.IsInf || b.IsInf)
        {
            if (a.IsZero || b.IsZero) { exc |= FpExc.Invalid; return Indefinite; }
            return Inf(sign);
        }
        if (a.IsZero || b.IsZero) return new Float80(0, (ushort)(sign ? 0x8000 : 0));
        a.Unpack(out _, out int ea, out ulong ma);
        b.Unpack(out _, out int eb, out ulong mb);
        UInt128 p = (UInt128)ma * mb; // value = p * 2^(ea + eb - 126)
        return Round(sign, ea + eb + 1, p, precision, rc, ref exc);
    }

    public static Float80 Div(Float80 a, Float80 b, int precision, int rc, ref FpExc exc)
    {
        if (a.IsNaN || b.IsNaN || a.IsUnsupported || b.IsUnsupported) return PropagateNaN(a, b, ref exc);
        if (!b.IsZero) NoteDenormals(a, b, ref exc); // zero-divide takes priority over a denormal dividend
        bool sign = a.Sign != b.Sign;
        if (a.IsInf) { if (b.IsInf) { exc |= FpExc.Invalid; return Indefinite; } return Inf(sign); }
        if (b.IsInf) return new Float80(0, (ushort)(sign ? 0x8000 : 0));
        if (b.IsZero)
        {
            if (a.IsZero) { exc |= FpExc.Invalid; return Indefinite; }
            exc |= FpExc.ZeroDivide;
            return Inf(sign);
        }
        if (a.IsZero) return new Float80(0, (ushort)(sign ? 0x8000 : 0));
        a.Unpack(out _, out int ea, out ulong ma);
        b.Unpack(out _, out int eb, out ulong mb);
        // q = (ma << 127) / mb has 127 or 128 bits: plenty of guard bits; the remainder gives the sticky bit.
        var num = (BigInteger)ma << 127;
        var q = BigInteger.DivRem(num, mb, out var rem);
        UInt128 sig = (UInt128)q | (rem.IsZero ? 0 : (UInt128)1);
        // value = (ma/mb) * 2^(ea - eb) = q * 2^(ea - eb - 127)
        return Round(sign, ea - eb, sig, precision, rc, ref exc);
    }

    public static Float80 Sqrt(Float80 a, int precision, int rc, ref FpExc exc)
    {
        if (a.IsNaN || a.IsUnsupported) return PropagateNaN(a, a, ref exc);
        if (a.IsZero) return a;
        if (a.Sign) { exc |= FpExc.Invalid; return Indefinite; }
        if (a.IsInf) return a;
        if (a.IsDenormal) exc |= FpExc.Denormal;
        a.Unpack(out _, out int e, out ulong m);
        // value = m * 2^(e-63). Make (e - 63 - extra) even with a 192-bit radicand for 96+ result bits.
        int k = e - 63 - 192;
        var rad = (BigInteger)m << 192;
        if ((k & 1) != 0) { rad <<= 1; k--; }
        var root = ISqrt(rad, out bool exact);
        // value = root * 2^(k/2); root has ~128 bits
        int bits = (int)root.GetBitLength();
        UInt128 sig = bits > 128 ? (UInt128)(root >> (bits - 128)) : (UInt128)root << (128 - bits);
        if (!exact || (bits > 128 && !(root & ((BigInteger.One << (bits - 128)) - 1)).IsZero)) sig |= 1;
        return Round(false, k / 2 + bits - 1, sig, precision, rc, ref exc);
    }

    private static BigInteger ISqrt(BigInteger n, out bool exact)
    {
        var x = BigInteger.One << (int)((n.GetBitLength() + 1) / 2);
        while (true)
        {
            var y = (x + n / x) >> 1;
            if (y >= x) break;
            x = y;
        }
        exact = x * x == n;
        return x;
    }

    /// <summary>Compares: -1, 0, 1, or 2 for unordered.</summary>
    public static int Compare(Float80 a, Float80 b)
    {
        if (a.IsNaN || b.IsNaN || a.IsUnsupported || b.IsUnsupported) return 2;
        if (a.IsZero && b.IsZero) return 0;
        if (a.IsZero) return b.Sign ? 1 : -1;
        if (b.IsZero) return a.Sign ? -1 : 1;
        if (a.Sign != b.Sign) return a.Sign ? -1 : 1;
        int mag;
        if (a.IsInf || b.IsInf) mag = a.IsInf && b.IsInf ? 0 : a.IsInf ? 1 : -1;
        else
        {
            a.Unpack(out _, out int ea, out ulong ma);
            b.Unpack(out _, out int eb, out ulong mb);
            mag = ea != eb ? ea.CompareTo(eb) : ma.CompareTo(mb);
        }
        return a.Sign ? -mag : mag;
    }

    /// <summary>Rounds sig / 2^drop to an integer with rounding control (the result must fit 64 bits).</summary>
    private static ulong RoundAt(UInt128 sig, int drop, bool sign, int rc, out bool inexact)
    {
        if (drop >= 128)
        {
            inexact = sig != 0;
            bool upTiny = rc switch { 0 => drop == 128 && sig > ((UInt128)1 << 127), 1 => inexact && sign, 2 => inexact && !sign, _ => false };
            return upTiny ? 1UL : 0;
        }
        if (drop <= 0) { inexact = false; return (ulong)(sig << -drop); }
        UInt128 unit = (UInt128)1 << drop, half = unit >> 1, rest = sig & (unit - 1);
        ulong kept = (ulong)(sig >> drop);
        inexact = rest != 0;
        bool up = rc switch
        {
            0 => rest > half || (rest == half && (kept & 1) != 0),
            1 => inexact && sign,
            2 => inexact && !sign,
            _ => false,
        };
        return kept + (up ? 1UL : 0);
    }

    // ---- conversions ----
    public static Float80 FromDouble(double d, ref FpExc exc)
    {
        ulong bits = BitConverter.DoubleToUInt64Bits(d);
        bool sign = (bits >> 63) != 0;
        int e = (int)((bits >> 52) & 0x7FF);
        ulong f = bits & 0xFFFFFFFFFFFFF;
        ushort s = (ushort)(sign ? 0x8000 : 0);
        // Exact widening; an SNaN stays signalling (the instruction using it decides on Invalid), and a
        // denormal source is reported by the caller (it becomes a normal extended value here).
        if (e == 0x7FF)
        {
            if (f == 0) return Inf(sign);
            return new Float80(0x8000000000000000 | (f << 11), (ushort)(s | 0x7FFF));
        }
        if (e == 0)
        {
            if (f == 0) return new Float80(0, s);
            int lz = BitOperations.LeadingZeroCount(f << 11);
            // value = f * 2^-1074 = ((f << 11) << lz) * 2^(-1085 - lz), exponent field 15361 - lz
            return new Float80((f << 11) << lz, (ushort)(s | (15361 - lz)));
        }
        return new Float80(0x8000000000000000 | (f << 11), (ushort)(s | (e - 1023 + 16383)));
    }

    public static Float80 FromSingle(float v, ref FpExc exc)
    {
        if (float.IsNaN(v))
        {
            uint bits = BitConverter.SingleToUInt32Bits(v);
            return new Float80(0x8000000000000000 | ((ulong)(bits & 0x7FFFFF) << 40), (ushort)((bits >> 31) != 0 ? 0xFFFF : 0x7FFF));
        }
        return FromDouble(v, ref exc); // float -> double is exact, denormals included
    }

    public static Float80 FromInt64(long v)
    {
        if (v == 0) return Zero;
        bool sign = v < 0;
        ulong m = sign ? (ulong)(-(v + 1)) + 1 : (ulong)v;
        int lz = BitOperations.LeadingZeroCount(m);
        return new Float80(m << lz, (ushort)((sign ? 0x8000 : 0) | (16383 + 63 - lz)));
    }

    /// <summary>Rounds to an IEEE double or single (<paramref name="bits"/> = 64 or 32) with the current rounding mode.</summary>
    public ulong ToIeee(int bits, int rc, ref FpExc exc)
    {
        int p = bits == 64 ? 53 : 24, ebits = bits == 64 ? 11 : 8, bias = bits == 64 ? 1023 : 127;
        ulong signBit = Sign ? 1UL << (bits - 1) : 0;
        ulong expMax = (1UL << ebits) - 1;
        ulong fracMask = (1UL << (p - 1)) - 1;
        if (IsUnsupported) { exc |= FpExc.Invalid; return (1UL << (bits - 1)) | (expMax << (p - 1)) | (1UL << (p - 2)); } // QNaN indefinite
        if (IsNaN)
        {
            if (IsSNaN) exc |= FpExc.Invalid;
            return signBit | (expMax << (p - 1)) | (1UL << (p - 2)) | ((Mant & 0x7FFFFFFFFFFFFFFF) >> (64 - p));
        }
        if (IsInf) return signBit | (expMax << (p - 1));
        if (IsZero) return signBit;
        // (FST does not report a denormal source: only #U/#O/#P apply to its result.)
        Unpack(out bool sign, out int e, out ulong m);
        int minE = 1 - bias;
        bool tiny = e < minE;
        // Keep p significant bits (fewer for a denormal result): drop the rest of m's 64 (+64 padding) bits.
        int drop = 64 + (64 - p) + (tiny ? minE - e : 0);
        ulong mant = RoundAt((UInt128)m << 64, drop, sign, rc, out bool inexact);
        if (inexact) exc |= FpExc.Precision;
        if (tiny)
        {
            if (inexact) exc |= FpExc.Underflow;
            // A denormal significand; rounding may carry it into the smallest normal (exponent field 1).
            return signBit | mant; // bit p-1 of mant, if set, lands exactly in the exponent field's lowest bit
        }
        int exp = e + bias;
        if ((mant >> p) != 0) { mant >>= 1; exp++; }
        if (exp >= (int)expMax)
        {
            exc |= FpExc.Overflow | FpExc.Precision;
            bool toInf = rc == 0 || (rc == 1 && sign) || (rc == 2 && !sign);
            return toInf ? signBit | (expMax << (p - 1)) : signBit | ((expMax - 1) << (p - 1)) | fracMask;
        }
        return signBit | ((ulong)exp << (p - 1)) | (mant & fracMask);
    }

    /// <summary>Rounds to an integral value (FRNDINT) with the rounding mode.</summary>
    public Float80 RoundToIntegral(int rc, ref FpExc exc)
    {
        if (IsUnsupported) { exc |= FpExc.Invalid; return Indefinite; }
        if (IsNaN) { if (IsSNaN) exc |= FpExc.Invalid; return Quiet(); }
        if (IsInf || IsZero) return this;
        if (IsDenormal) exc |= FpExc.Denormal;
        Unpack(out bool sign, out int e, out ulong m);
        if (e >= 63) return this;
        ulong mag = RoundAt((UInt128)m << 64, 127 - e, sign, rc, out bool inexact);
        if (inexact) exc |= FpExc.Precision;
        return FromMagnitude(sign, mag);
    }

    private static Float80 FromMagnitude(bool sign, ulong mag)
    {
        if (mag == 0) return new Float80(0, (ushort)(sign ? 0x8000 : 0));
        int lz = BitOperations.LeadingZeroCount(mag);
        return new Float80(mag << lz, (ushort)((sign ? 0x8000 : 0) | (16383 + 63 - lz)));
    }

    /// <summary>Converts to a signed integer of <paramref name="bits"/> bits; out of range or NaN gives the
    /// "integer indefinite" (most negative value) with Invalid. <paramref name="truncate"/> for FISTTP.</summary>
    public long ToInt(int bits, int rc, bool truncate, ref FpExc exc)
    {
        long indefinite = bits == 64 ? long.MinValue : -(1L << (bits - 1));
        if (IsNaN || IsInf || IsUnsupported) { exc |= FpExc.Invalid; return indefinite; }
        if (IsZero) return 0;
        Unpack(out bool sign, out int e, out ulong m); // (FIST does not report a denormal source)
        if (e > 63) { exc |= FpExc.Invalid; return indefinite; }
        ulong mag = RoundAt((UInt128)m << 64, 127 - e, sign, truncate ? 3 : rc, out bool inexact);
        ulong limit = 1UL << (bits - 1);
        if (sign ? mag > limit : mag >= limit) { exc |= FpExc.Invalid; return indefinite; }
        if (inexact) exc |= FpExc.Precision;
        return sign ? (long)(0 - mag) : (long)mag;
    }

    public double ToDoubleApprox()
    {
        FpExc ignore = FpExc.None;
        return BitConverter.UInt64BitsToDouble(ToIeee(64, 0, ref ignore));
    }
}
