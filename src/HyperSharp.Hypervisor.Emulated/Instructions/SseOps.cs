using System.Runtime.Intrinsics;
using V = System.Runtime.Intrinsics.Vector128<byte>;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// The element-wise SSE/SSE2 integer, logic, shuffle and move operations as pure functions (a = destination, b = source, imm = immediate).
/// Written with the portable Vector128 API; each matches the SDM's operation text for the instruction.
/// (The floating-point ones, which depend on MXCSR and raise its flags, are in <see cref="SseFloatOps"/>.)
/// </summary>
internal static class SseOps
{
    // ---- logic ----
    public static V Xor(V a, V b, byte i) => a ^ b;
    public static V Or(V a, V b, byte i) => a | b;
    public static V And(V a, V b, byte i) => a & b;
    public static V AndNot(V a, V b, byte i) => ~a & b;

    // ---- integer arithmetic ----
    public static V AddB(V a, V b, byte i) => a + b;
    public static V AddW(V a, V b, byte i) => (a.AsUInt16() + b.AsUInt16()).AsByte();
    public static V AddD(V a, V b, byte i) => (a.AsUInt32() + b.AsUInt32()).AsByte();
    public static V AddQ(V a, V b, byte i) => (a.AsUInt64() + b.AsUInt64()).AsByte();
    public static V SubB(V a, V b, byte i) => a - b;
    public static V SubW(V a, V b, byte i) => (a.AsUInt16() - b.AsUInt16()).AsByte();
    public static V SubD(V a, V b, byte i) => (a.AsUInt32() - b.AsUInt32()).AsByte();
    public static V SubQ(V a, V b, byte i) => (a.AsUInt64() - b.AsUInt64()).AsByte();
    public static V AddUsB(V a, V b, byte i) => Map8(a, b, (x, y) => (byte)Math.Min(255, x + y));
    public static V SubUsB(V a, V b, byte i) => Map8(a, b, (x, y) => (byte)Math.Max(0, x - y));
    public static V AddUsW(V a, V b, byte i) => Map16(a, b, (x, y) => (ushort)Math.Min(65535, x + y));
    public static V SubUsW(V a, V b, byte i) => Map16(a, b, (x, y) => (ushort)Math.Max(0, x - y));
    public static V MulLoW(V a, V b, byte i) => (a.AsInt16() * b.AsInt16()).AsByte();
    public static V MulUdq(V a, V b, byte i)
        => Vector128.Create((ulong)a.AsUInt32()[0] * b.AsUInt32()[0], (ulong)a.AsUInt32()[2] * b.AsUInt32()[2]).AsByte();
    public static V AddSsB(V a, V b, byte i) => MapS8(a, b, (x, y) => (sbyte)Math.Clamp(x + y, -128, 127));
    public static V SubSsB(V a, V b, byte i) => MapS8(a, b, (x, y) => (sbyte)Math.Clamp(x - y, -128, 127));
    public static V AddSsW(V a, V b, byte i) => MapS16(a, b, (x, y) => (short)Math.Clamp(x + y, -32768, 32767));
    public static V SubSsW(V a, V b, byte i) => MapS16(a, b, (x, y) => (short)Math.Clamp(x - y, -32768, 32767));
    public static V MulHiW(V a, V b, byte i) => MapS16(a, b, (x, y) => (short)((x * y) >> 16));
    public static V MulHiUW(V a, V b, byte i) => Map16(a, b, (x, y) => (ushort)((x * y) >> 16));
    public static V AvgW(V a, V b, byte i) => Map16(a, b, (x, y) => (ushort)((x + y + 1) >> 1));
    public static V MaddWD(V a, V b, byte i)
    {
        var x = a.AsInt16(); var y = b.AsInt16();
        return Vector128.Create(x[0] * y[0] + x[1] * y[1], x[2] * y[2] + x[3] * y[3], x[4] * y[4] + x[5] * y[5], x[6] * y[6] + x[7] * y[7]).AsByte();
    }
    public static V MinUB(V a, V b, byte i) => Vector128.Min(a, b);
    public static V MaxUB(V a, V b, byte i) => Vector128.Max(a, b);
    public static V MinSW(V a, V b, byte i) => Vector128.Min(a.AsInt16(), b.AsInt16()).AsByte();
    public static V MaxSW(V a, V b, byte i) => Vector128.Max(a.AsInt16(), b.AsInt16()).AsByte();
    public static V AvgB(V a, V b, byte i) => Map8(a, b, (x, y) => (byte)((x + y + 1) >> 1));
    public static V SadBW(V a, V b, byte i)
    {
        ulong lo = 0, hi = 0;
        for (int k = 0; k < 8; k++) { lo += (ulong)Math.Abs(a[k] - b[k]); hi += (ulong)Math.Abs(a[k + 8] - b[k + 8]); }
        return Vector128.Create(lo, hi).AsByte();
    }

    // ---- compares ----
    public static V CmpEqB(V a, V b, byte i) => Vector128.Equals(a, b);
    public static V CmpEqW(V a, V b, byte i) => Vector128.Equals(a.AsUInt16(), b.AsUInt16()).AsByte();
    public static V CmpEqD(V a, V b, byte i) => Vector128.Equals(a.AsUInt32(), b.AsUInt32()).AsByte();
    public static V CmpGtB(V a, V b, byte i) => Vector128.GreaterThan(a.AsSByte(), b.AsSByte()).AsByte();
    public static V CmpGtW(V a, V b, byte i) => Vector128.GreaterThan(a.AsInt16(), b.AsInt16()).AsByte();
    public static V CmpGtD(V a, V b, byte i) => Vector128.GreaterThan(a.AsInt32(), b.AsInt32()).AsByte();

    // ---- unpack / pack / shuffle ----
    public static V UnpackLoB(V a, V b, byte i) => Interleave8(a, b, 0);
    public static V UnpackHiB(V a, V b, byte i) => Interleave8(a, b, 8);
    public static V UnpackLoW(V a, V b, byte i) => Interleave(a.AsUInt16(), b.AsUInt16(), 0).AsByte();
    public static V UnpackHiW(V a, V b, byte i) => Interleave(a.AsUInt16(), b.AsUInt16(), 4).AsByte();
    public static V UnpackLoD(V a, V b, byte i) => Vector128.Create(a.AsUInt32()[0], b.AsUInt32()[0], a.AsUInt32()[1], b.AsUInt32()[1]).AsByte();
    public static V UnpackHiD(V a, V b, byte i) => Vector128.Create(a.AsUInt32()[2], b.AsUInt32()[2], a.AsUInt32()[3], b.AsUInt32()[3]).AsByte();
    public static V UnpackLoPS(V a, V b, byte i) => UnpackLoD(a, b, i);
    public static V UnpackHiPS(V a, V b, byte i) => UnpackHiD(a, b, i);
    public static V UnpackLoQ(V a, V b, byte i) => Vector128.Create(a.AsUInt64()[0], b.AsUInt64()[0]).AsByte();
    public static V UnpackHiQ(V a, V b, byte i) => Vector128.Create(a.AsUInt64()[1], b.AsUInt64()[1]).AsByte();
    public static V PackUsWB(V a, V b, byte i)
    {
        Span<byte> r = stackalloc byte[16];
        for (int k = 0; k < 8; k++) { r[k] = Sat8U(a.AsInt16()[k]); r[k + 8] = Sat8U(b.AsInt16()[k]); }
        return Vector128.Create((ReadOnlySpan<byte>)r);
    }
    public static V PackSsWB(V a, V b, byte i)
    {
        Span<sbyte> r = stackalloc sbyte[16];
        for (int k = 0; k < 8; k++) { r[k] = (sbyte)Math.Clamp((int)a.AsInt16()[k], -128, 127); r[k + 8] = (sbyte)Math.Clamp((int)b.AsInt16()[k], -128, 127); }
        return Vector128.Create((ReadOnlySpan<sbyte>)r).AsByte();
    }
    public static V PackSsDW(V a, V b, byte i)
    {
        Span<short> r = stackalloc short[8];
        for (int k = 0; k < 4; k++) { r[k] = (short)Math.Clamp(a.AsInt32()[k], -32768, 32767); r[k + 4] = (short)Math.Clamp(b.AsInt32()[k], -32768, 32767); }
        return Vector128.Create((ReadOnlySpan<short>)r).AsByte();
    }
    public static V ShufD(V a, V b, byte i)
    {
        var s = b.AsUInt32();
        return Vector128.Create(s[i & 3], s[(i >> 2) & 3], s[(i >> 4) & 3], s[(i >> 6) & 3]).AsByte();
    }
    public static V ShufLW(V a, V b, byte i)
    {
        var s = b.AsUInt16();
        return Vector128.Create(s[i & 3], s[(i >> 2) & 3], s[(i >> 4) & 3], s[(i >> 6) & 3], s[4], s[5], s[6], s[7]).AsByte();
    }
    public static V ShufHW(V a, V b, byte i)
    {
        var s = b.AsUInt16();
        return Vector128.Create(s[0], s[1], s[2], s[3], s[4 + (i & 3)], s[4 + ((i >> 2) & 3)], s[4 + ((i >> 4) & 3)], s[4 + ((i >> 6) & 3)]).AsByte();
    }
    public static V ShufPS(V a, V b, byte i)
    {
        var x = a.AsUInt32(); var y = b.AsUInt32();
        return Vector128.Create(x[i & 3], x[(i >> 2) & 3], y[(i >> 4) & 3], y[(i >> 6) & 3]).AsByte();
    }
    public static V ShufPD(V a, V b, byte i) => Vector128.Create(a.AsUInt64()[i & 1], b.AsUInt64()[(i >> 1) & 1]).AsByte();

    // ---- shifts: by immediate (b unused) or by the low 64 bits of b ----
    public static V SllW(V a, V b, byte i) => ShiftW(a, Count(b, i), true);
    public static V SrlW(V a, V b, byte i) => ShiftW(a, Count(b, i), false);
    public static V SraW(V a, V b, byte i) => Vector128.ShiftRightArithmetic(a.AsInt16(), (int)Math.Min(Count(b, i), 15UL)).AsByte();
    public static V SllD(V a, V b, byte i) { ulong n = Count(b, i); return n > 31 ? V.Zero : Vector128.ShiftLeft(a.AsUInt32(), (int)n).AsByte(); }
    public static V SrlD(V a, V b, byte i) { ulong n = Count(b, i); return n > 31 ? V.Zero : Vector128.ShiftRightLogical(a.AsUInt32(), (int)n).AsByte(); }
    public static V SraD(V a, V b, byte i) => Vector128.ShiftRightArithmetic(a.AsInt32(), (int)Math.Min(Count(b, i), 31UL)).AsByte();
    public static V SllQ(V a, V b, byte i) { ulong n = Count(b, i); return n > 63 ? V.Zero : Vector128.ShiftLeft(a.AsUInt64(), (int)n).AsByte(); }
    public static V SrlQ(V a, V b, byte i) { ulong n = Count(b, i); return n > 63 ? V.Zero : Vector128.ShiftRightLogical(a.AsUInt64(), (int)n).AsByte(); }
    public static V SllDq(V a, V b, byte i)
    {
        if (i > 15) return V.Zero;
        UInt128 x = new UInt128(a.AsUInt64()[1], a.AsUInt64()[0]) << (i * 8);
        return Vector128.Create((ulong)x, (ulong)(x >> 64)).AsByte();
    }
    public static V SrlDq(V a, V b, byte i)
    {
        if (i > 15) return V.Zero;
        UInt128 x = new UInt128(a.AsUInt64()[1], a.AsUInt64()[0]) >> (i * 8);
        return Vector128.Create((ulong)x, (ulong)(x >> 64)).AsByte();
    }

    /// <summary>Shift count: the immediate form passes b = 0 and the count in imm; the register form has imm 0.</summary>
    private static ulong Count(V b, byte i) => i != 0 ? i : b.AsUInt64()[0];
    private static V ShiftW(V a, ulong n, bool left)
        => n > 15 ? V.Zero : (left ? Vector128.ShiftLeft(a.AsUInt16(), (int)n) : Vector128.ShiftRightLogical(a.AsUInt16(), (int)n)).AsByte();

    // ---- SSE3 ----
    public static V MovDDup(V a, V b, byte i) => Vector128.Create(b.AsUInt64()[0], b.AsUInt64()[0]).AsByte();
    public static V MovSHDup(V a, V b, byte i) { var s = b.AsUInt32(); return Vector128.Create(s[1], s[1], s[3], s[3]).AsByte(); }
    public static V MovSLDup(V a, V b, byte i) { var s = b.AsUInt32(); return Vector128.Create(s[0], s[0], s[2], s[2]).AsByte(); }

    // ---- SSSE3 (on 128 bits; the MMX forms run on (value, 0) and keep the low half, except PSHUFB/PALIGNR/horizontal ops which have MMX-specific handlers) ----
    public static V ShufB(V a, V b, byte i)
    {
        Span<byte> r = stackalloc byte[16];
        for (int k = 0; k < 16; k++) r[k] = (b[k] & 0x80) != 0 ? (byte)0 : a[b[k] & 15];
        return Vector128.Create((ReadOnlySpan<byte>)r);
    }
    public static V HAddW(V a, V b, byte i)
    {
        var x = a.AsInt16(); var y = b.AsInt16();
        return Vector128.Create((short)(x[0] + x[1]), (short)(x[2] + x[3]), (short)(x[4] + x[5]), (short)(x[6] + x[7]),
            (short)(y[0] + y[1]), (short)(y[2] + y[3]), (short)(y[4] + y[5]), (short)(y[6] + y[7])).AsByte();
    }
    public static V HAddD(V a, V b, byte i)
    {
        var x = a.AsInt32(); var y = b.AsInt32();
        return Vector128.Create(x[0] + x[1], x[2] + x[3], y[0] + y[1], y[2] + y[3]).AsByte();
    }
    public static V HAddSW(V a, V b, byte i)
    {
        var x = a.AsInt16(); var y = b.AsInt16();
        static short S(int v) => (short)Math.Clamp(v, -32768, 32767);
        return Vector128.Create(S(x[0] + x[1]), S(x[2] + x[3]), S(x[4] + x[5]), S(x[6] + x[7]),
            S(y[0] + y[1]), S(y[2] + y[3]), S(y[4] + y[5]), S(y[6] + y[7])).AsByte();
    }
    public static V HSubW(V a, V b, byte i)
    {
        var x = a.AsInt16(); var y = b.AsInt16();
        return Vector128.Create((short)(x[0] - x[1]), (short)(x[2] - x[3]), (short)(x[4] - x[5]), (short)(x[6] - x[7]),
            (short)(y[0] - y[1]), (short)(y[2] - y[3]), (short)(y[4] - y[5]), (short)(y[6] - y[7])).AsByte();
    }
    public static V HSubD(V a, V b, byte i)
    {
        var x = a.AsInt32(); var y = b.AsInt32();
        return Vector128.Create(x[0] - x[1], x[2] - x[3], y[0] - y[1], y[2] - y[3]).AsByte();
    }
    public static V HSubSW(V a, V b, byte i)
    {
        var x = a.AsInt16(); var y = b.AsInt16();
        static short S(int v) => (short)Math.Clamp(v, -32768, 32767);
        return Vector128.Create(S(x[0] - x[1]), S(x[2] - x[3]), S(x[4] - x[5]), S(x[6] - x[7]),
            S(y[0] - y[1]), S(y[2] - y[3]), S(y[4] - y[5]), S(y[6] - y[7])).AsByte();
    }
    public static V MaddUbsW(V a, V b, byte i)
    {
        Span<short> r = stackalloc short[8];
        for (int k = 0; k < 8; k++) r[k] = (short)Math.Clamp(a[2 * k] * (sbyte)b[2 * k] + a[2 * k + 1] * (sbyte)b[2 * k + 1], -32768, 32767);
        return Vector128.Create((ReadOnlySpan<short>)r).AsByte();
    }
    public static V MulHrsW(V a, V b, byte i) => MapS16(a, b, (x, y) => (short)((((x * y) >> 14) + 1) >> 1));
    public static V SignB(V a, V b, byte i) => MapS8(a, b, (x, y) => y < 0 ? (sbyte)-x : y == 0 ? (sbyte)0 : x);
    public static V SignW(V a, V b, byte i) => MapS16(a, b, (x, y) => y < 0 ? (short)-x : y == 0 ? (short)0 : x);
    public static V SignD(V a, V b, byte i)
    {
        var x = a.AsInt32(); var y = b.AsInt32();
        static int F(int p, int q) => q < 0 ? -p : q == 0 ? 0 : p;
        return Vector128.Create(F(x[0], y[0]), F(x[1], y[1]), F(x[2], y[2]), F(x[3], y[3])).AsByte();
    }
    public static V AbsB(V a, V b, byte i) => MapS8(b, b, (x, _) => (sbyte)(x < 0 ? -x : x));
    public static V AbsW(V a, V b, byte i) => MapS16(b, b, (x, _) => (short)(x < 0 ? -x : x));
    public static V AbsD(V a, V b, byte i)
    {
        var x = b.AsInt32();
        return Vector128.Create((uint)Math.Abs((long)x[0]), (uint)Math.Abs((long)x[1]), (uint)Math.Abs((long)x[2]), (uint)Math.Abs((long)x[3])).AsByte();
    }
    public static V AlignR(V a, V b, byte i)
    {
        // (a:b) >> (imm * 8), low 16 bytes
        Span<byte> r = stackalloc byte[16];
        for (int k = 0; k < 16; k++) { int s = k + i; r[k] = s < 16 ? b[s] : s < 32 ? a[s - 16] : (byte)0; }
        return Vector128.Create((ReadOnlySpan<byte>)r);
    }

    // ---- moves expressed as operations ----
    public static V Copy(V a, V b, byte i) => b;
    public static V MovLowQ(V a, V b, byte i) => Vector128.Create(b.AsUInt64()[0], a.AsUInt64()[1]).AsByte();   // MOVLPS/MOVLPD load
    public static V MovHighQ(V a, V b, byte i) => Vector128.Create(a.AsUInt64()[0], b.AsUInt64()[0]).AsByte();  // MOVHPS/MOVHPD load, MOVLHPS
    public static V MovHL(V a, V b, byte i) => Vector128.Create(b.AsUInt64()[1], a.AsUInt64()[1]).AsByte();     // MOVHLPS
    public static V MovSSReg(V a, V b, byte i) => a.AsUInt32().WithElement(0, b.AsUInt32()[0]).AsByte();
    public static V MovSDReg(V a, V b, byte i) => a.AsUInt64().WithElement(0, b.AsUInt64()[0]).AsByte();

    private static byte Sat8U(short v) => (byte)Math.Clamp((int)v, 0, 255);
    private static V Map8(V a, V b, Func<byte, byte, byte> f)
    {
        Span<byte> r = stackalloc byte[16];
        for (int k = 0; k < 16; k++) r[k] = f(a[k], b[k]);
        return Vector128.Create((ReadOnlySpan<byte>)r);
    }
    private static V MapS8(V a, V b, Func<sbyte, sbyte, sbyte> f)
    {
        Span<sbyte> r = stackalloc sbyte[16];
        for (int k = 0; k < 16; k++) r[k] = f(a.AsSByte()[k], b.AsSByte()[k]);
        return Vector128.Create((ReadOnlySpan<sbyte>)r).AsByte();
    }
    private static V MapS16(V a, V b, Func<short, short, short> f)
    {
        Span<short> r = stackalloc short[8];
        for (int k = 0; k < 8; k++) r[k] = f(a.AsInt16()[k], b.AsInt16()[k]);
        return Vector128.Create((ReadOnlySpan<short>)r).AsByte();
    }
    private static V Map16(V a, V b, Func<ushort, ushort, ushort> f)
    {
        Span<ushort> r = stackalloc ushort[8];
        for (int k = 0; k < 8; k++) r[k] = f(a.AsUInt16()[k], b.AsUInt16()[k]);
        return Vector128.Create((ReadOnlySpan<ushort>)r).AsByte();
    }
    private static V Interleave8(V a, V b, int from)
    {
        Span<byte> r = stackalloc byte[16];
        for (int k = 0; k < 8; k++) { r[2 * k] = a[from + k]; r[2 * k + 1] = b[from + k]; }
        return Vector128.Create((ReadOnlySpan<byte>)r);
    }
    private static Vector128<ushort> Interleave(Vector128<ushort> a, Vector128<ushort> b, int from)
        => Vector128.Create(a[from], b[from], a[from + 1], b[from + 1], a[from + 2], b[from + 2], a[from + 3], b[from + 3]);
}
