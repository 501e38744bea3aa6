using System.Runtime.Intrinsics;
using static HyperSharp.Hypervisor.Emulated.Execution.SoftFloat;
using static HyperSharp.Hypervisor.Emulated.Execution.SoftFloatArithmetic;
using static HyperSharp.Hypervisor.Emulated.Execution.SoftFloatConversions;
using V = System.Runtime.Intrinsics.Vector128<byte>;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// The SSE/SSE2/SSE3 floating-point operations (a = destination, b = source, imm = immediate), element by element
/// through <see cref="SoftFloat"/> under the instruction's MXCSR; each element's exception flags collect in the
/// <see cref="FpStatus"/> that <see cref="X86Cpu.CommitSimdExceptions"/> then applies.
/// </summary>
internal static unsafe class SseFloatOps
{
    private enum Op { Add, Sub, Mul, Div, Min, Max }

    private static ulong Apply(Op op, ulong x, ulong y, in FloatFormat f, ref FpStatus st) => op switch
    {
        Op.Add => Add(x, y, false, f, ref st),
        Op.Sub => Add(x, y, true, f, ref st),
        Op.Mul => Mul(x, y, f, ref st),
        Op.Div => Div(x, y, f, ref st),
        Op.Min => MinMax(x, y, false, f, ref st),
        _ => MinMax(x, y, true, f, ref st),
    };

    private static uint S(Op op, uint x, uint y, ref FpStatus st) => (uint)Apply(op, x, y, Binary32, ref st);
    private static ulong D(Op op, ulong x, ulong y, ref FpStatus st) => Apply(op, x, y, Binary64, ref st);

    private static V PS(V a, V b, Op op, ref FpStatus st)
    {
        var x = a.AsUInt32(); var y = b.AsUInt32();
        return Vector128.Create(S(op, x[0], y[0], ref st), S(op, x[1], y[1], ref st), S(op, x[2], y[2], ref st), S(op, x[3], y[3], ref st)).AsByte();
    }
    private static V PD(V a, V b, Op op, ref FpStatus st)
    {
        var x = a.AsUInt64(); var y = b.AsUInt64();
        return Vector128.Create(D(op, x[0], y[0], ref st), D(op, x[1], y[1], ref st)).AsByte();
    }
    private static V SS(V a, V b, Op op, ref FpStatus st) => a.AsUInt32().WithElement(0, S(op, a.AsUInt32()[0], b.AsUInt32()[0], ref st)).AsByte();
    private static V SD(V a, V b, Op op, ref FpStatus st) => a.AsUInt64().WithElement(0, D(op, a.AsUInt64()[0], b.AsUInt64()[0], ref st)).AsByte();

    public static V AddPS(V a, V b, byte i, ref FpStatus st) => PS(a, b, Op.Add, ref st);
    public static V SubPS(V a, V b, byte i, ref FpStatus st) => PS(a, b, Op.Sub, ref st);
    public static V MulPS(V a, V b, byte i, ref FpStatus st) => PS(a, b, Op.Mul, ref st);
    public static V DivPS(V a, V b, byte i, ref FpStatus st) => PS(a, b, Op.Div, ref st);
    public static V MinPS(V a, V b, byte i, ref FpStatus st) => PS(a, b, Op.Min, ref st);
    public static V MaxPS(V a, V b, byte i, ref FpStatus st) => PS(a, b, Op.Max, ref st);
    public static V AddPD(V a, V b, byte i, ref FpStatus st) => PD(a, b, Op.Add, ref st);
    public static V SubPD(V a, V b, byte i, ref FpStatus st) => PD(a, b, Op.Sub, ref st);
    public static V MulPD(V a, V b, byte i, ref FpStatus st) => PD(a, b, Op.Mul, ref st);
    public static V DivPD(V a, V b, byte i, ref FpStatus st) => PD(a, b, Op.Div, ref st);
    public static V MinPD(V a, V b, byte i, ref FpStatus st) => PD(a, b, Op.Min, ref st);
    public static V MaxPD(V a, V b, byte i, ref FpStatus st) => PD(a, b, Op.Max, ref st);
    public static V AddSS(V a, V b, byte i, ref FpStatus st) => SS(a, b, Op.Add, ref st);
    public static V SubSS(V a, V b, byte i, ref FpStatus st) => SS(a, b, Op.Sub, ref st);
    public static V MulSS(V a, V b, byte i, ref FpStatus st) => SS(a, b, Op.Mul, ref st);
    public static V DivSS(V a, V b, byte i, ref FpStatus st) => SS(a, b, Op.Div, ref st);
    public static V MinSS(V a, V b, byte i, ref FpStatus st) => SS(a, b, Op.Min, ref st);
    public static V MaxSS(V a, V b, byte i, ref FpStatus st) => SS(a, b, Op.Max, ref st);
    public static V AddSD(V a, V b, byte i, ref FpStatus st) => SD(a, b, Op.Add, ref st);
    public static V SubSD(V a, V b, byte i, ref FpStatus st) => SD(a, b, Op.Sub, ref st);
    public static V MulSD(V a, V b, byte i, ref FpStatus st) => SD(a, b, Op.Mul, ref st);
    public static V DivSD(V a, V b, byte i, ref FpStatus st) => SD(a, b, Op.Div, ref st);
    public static V MinSD(V a, V b, byte i, ref FpStatus st) => SD(a, b, Op.Min, ref st);
    public static V MaxSD(V a, V b, byte i, ref FpStatus st) => SD(a, b, Op.Max, ref st);

    public static V SqrtSS(V a, V b, byte i, ref FpStatus st) => a.AsUInt32().WithElement(0, (uint)Sqrt(b.AsUInt32()[0], Binary32, ref st)).AsByte();
    public static V SqrtSD(V a, V b, byte i, ref FpStatus st) => a.AsUInt64().WithElement(0, Sqrt(b.AsUInt64()[0], Binary64, ref st)).AsByte();
    public static V SqrtPS(V a, V b, byte i, ref FpStatus st) => Lanes32(b, &Sqrt32, ref st);
    public static V SqrtPD(V a, V b, byte i, ref FpStatus st)
        => Vector128.Create(Sqrt(b.AsUInt64()[0], Binary64, ref st), Sqrt(b.AsUInt64()[1], Binary64, ref st)).AsByte();

    // ---- SSE3: ADDSUB subtracts in even elements; HADD/HSUB combine neighbours of a, then of b ----
    public static V AddSubPS(V a, V b, byte i, ref FpStatus st)
    {
        var x = a.AsUInt32(); var y = b.AsUInt32();
        return Vector128.Create(S(Op.Sub, x[0], y[0], ref st), S(Op.Add, x[1], y[1], ref st), S(Op.Sub, x[2], y[2], ref st), S(Op.Add, x[3], y[3], ref st)).AsByte();
    }
    public static V AddSubPD(V a, V b, byte i, ref FpStatus st)
        => Vector128.Create(D(Op.Sub, a.AsUInt64()[0], b.AsUInt64()[0], ref st), D(Op.Add, a.AsUInt64()[1], b.AsUInt64()[1], ref st)).AsByte();
    public static V HAddPS(V a, V b, byte i, ref FpStatus st) => Horizontal32(a, b, Op.Add, ref st);
    public static V HSubPS(V a, V b, byte i, ref FpStatus st) => Horizontal32(a, b, Op.Sub, ref st);
    public static V HAddPD(V a, V b, byte i, ref FpStatus st) => Horizontal64(a, b, Op.Add, ref st);
    public static V HSubPD(V a, V b, byte i, ref FpStatus st) => Horizontal64(a, b, Op.Sub, ref st);
    private static V Horizontal32(V a, V b, Op op, ref FpStatus st)
    {
        var x = a.AsUInt32(); var y = b.AsUInt32();
        return Vector128.Create(S(op, x[0], x[1], ref st), S(op, x[2], x[3], ref st), S(op, y[0], y[1], ref st), S(op, y[2], y[3], ref st)).AsByte();
    }
    private static V Horizontal64(V a, V b, Op op, ref FpStatus st)
        => Vector128.Create(D(op, a.AsUInt64()[0], a.AsUInt64()[1], ref st), D(op, b.AsUInt64()[0], b.AsUInt64()[1], ref st)).AsByte();

    // ---- compares: CMPPS/CMPSS/CMPPD/CMPSD predicate 0-7 = EQ LT LE UNORD NEQ NLT NLE ORD; LT LE NLT NLE signal on QNaNs ----
    private static bool Holds(int order, int predicate) => (predicate & 7) switch
    {
        0 => order == 0, 1 => order == -1, 2 => order is -1 or 0, 3 => order == 2,
        4 => order != 0, 5 => order != -1, 6 => order is 1 or 2, _ => order != 2,
    };
    private static bool Signalling(int predicate) => (predicate & 7) is 1 or 2 or 5 or 6;
    private static uint Cmp32(uint x, uint y, byte p, ref FpStatus st) => Holds(Compare(x, y, Signalling(p), Binary32, ref st), p) ? uint.MaxValue : 0;
    private static ulong Cmp64(ulong x, ulong y, byte p, ref FpStatus st) => Holds(Compare(x, y, Signalling(p), Binary64, ref st), p) ? ulong.MaxValue : 0;
    public static V CmpSS(V a, V b, byte i, ref FpStatus st) => a.AsUInt32().WithElement(0, Cmp32(a.AsUInt32()[0], b.AsUInt32()[0], i, ref st)).AsByte();
    public static V CmpSD(V a, V b, byte i, ref FpStatus st) => a.AsUInt64().WithElement(0, Cmp64(a.AsUInt64()[0], b.AsUInt64()[0], i, ref st)).AsByte();
    public static V CmpPS(V a, V b, byte i, ref FpStatus st)
    {
        var x = a.AsUInt32(); var y = b.AsUInt32();
        return Vector128.Create(Cmp32(x[0], y[0], i, ref st), Cmp32(x[1], y[1], i, ref st), Cmp32(x[2], y[2], i, ref st), Cmp32(x[3], y[3], i, ref st)).AsByte();
    }
    public static V CmpPD(V a, V b, byte i, ref FpStatus st)
        => Vector128.Create(Cmp64(a.AsUInt64()[0], b.AsUInt64()[0], i, ref st), Cmp64(a.AsUInt64()[1], b.AsUInt64()[1], i, ref st)).AsByte();

    // ---- conversions ----
    public static V CvtSS2SD(V a, V b, byte i, ref FpStatus st) => a.AsUInt64().WithElement(0, Convert(b.AsUInt32()[0], Binary32, Binary64, ref st)).AsByte();
    public static V CvtSD2SS(V a, V b, byte i, ref FpStatus st) => a.AsUInt32().WithElement(0, (uint)Convert(b.AsUInt64()[0], Binary64, Binary32, ref st)).AsByte();
    public static V CvtPS2PD(V a, V b, byte i, ref FpStatus st)
        => Vector128.Create(Convert(b.AsUInt32()[0], Binary32, Binary64, ref st), Convert(b.AsUInt32()[1], Binary32, Binary64, ref st)).AsByte();
    public static V CvtPD2PS(V a, V b, byte i, ref FpStatus st)
        => Vector128.Create((uint)Convert(b.AsUInt64()[0], Binary64, Binary32, ref st), (uint)Convert(b.AsUInt64()[1], Binary64, Binary32, ref st), 0, 0).AsByte();
    public static V CvtDQ2PS(V a, V b, byte i, ref FpStatus st) => Lanes32(b, &Int32ToBinary32, ref st);
    public static V CvtDQ2PD(V a, V b, byte i, ref FpStatus st)
        => Vector128.Create(FromInteger(b.AsInt32()[0], Binary64, ref st), FromInteger(b.AsInt32()[1], Binary64, ref st)).AsByte();
    public static V CvtPS2DQ(V a, V b, byte i, ref FpStatus st) => PS2DQ(b, false, ref st);
    public static V CvttPS2DQ(V a, V b, byte i, ref FpStatus st) => PS2DQ(b, true, ref st);
    public static V CvtPD2DQ(V a, V b, byte i, ref FpStatus st) => PD2DQ(b, false, ref st);
    public static V CvttPD2DQ(V a, V b, byte i, ref FpStatus st) => PD2DQ(b, true, ref st);
    private static V PS2DQ(V b, bool truncate, ref FpStatus st) => Lanes32(b, truncate ? &TruncateToInt32 : &RoundToInt32, ref st);
    private static V PD2DQ(V b, bool truncate, ref FpStatus st)
        => Vector128.Create((int)ToInteger(b.AsUInt64()[0], Binary64, 32, truncate, ref st), (int)ToInteger(b.AsUInt64()[1], Binary64, 32, truncate, ref st), 0, 0).AsByte();

    /// <summary>A one-operand operation on each 32-bit lane of b.</summary>
    private static V Lanes32(V b, delegate*<ulong, ref FpStatus, ulong> op, ref FpStatus st)
    {
        var y = b.AsUInt32();
        return Vector128.Create((uint)op(y[0], ref st), (uint)op(y[1], ref st), (uint)op(y[2], ref st), (uint)op(y[3], ref st)).AsByte();
    }
    private static ulong Sqrt32(ulong x, ref FpStatus st) => Sqrt(x, Binary32, ref st);
    private static ulong Int32ToBinary32(ulong x, ref FpStatus st) => FromInteger((int)x, Binary32, ref st);
    private static ulong RoundToInt32(ulong x, ref FpStatus st) => (uint)ToInteger(x, Binary32, 32, false, ref st);
    private static ulong TruncateToInt32(ulong x, ref FpStatus st) => (uint)ToInteger(x, Binary32, 32, true, ref st);
}
