using System.Runtime.CompilerServices;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// An operand size as a type: handlers are generic over it and the JIT compiles one specialized copy
/// per size (value-type generic arguments), so masks and widths are constants, with no size switch at run time.
/// </summary>
internal interface ISize
{
    static abstract int Bytes { get; }
    static abstract ulong Mask { get; }
    static abstract ulong Sign { get; }
    static abstract ulong GetReg(X86Cpu c, int reg, int shift);
    /// <summary>Writes a register the way x86 does for this size: 8/16 merge, 32 zero-extends, 64 replaces.</summary>
    static abstract void SetReg(X86Cpu c, int reg, int shift, ulong value);
    static abstract ulong Load(X86Cpu c, ulong lin);
    static abstract void Store(X86Cpu c, ulong lin, ulong value);
    /// <summary>Atomic compare-exchange at a host pointer; returns the old value.</summary>
    static abstract unsafe ulong Cas(byte* p, ulong value, ulong comparand);
    static abstract ulong SignExtend(ulong v);
}

internal struct S8 : ISize
{
    public static int Bytes => 1;
    public static ulong Mask => 0xFF;
    public static ulong Sign => 0x80;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong GetReg(X86Cpu c, int reg, int shift) => (c.R(reg) >> shift) & 0xFF;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetReg(X86Cpu c, int reg, int shift, ulong value)
    {
        ref ulong r = ref c.R(reg);
        r = (r & ~(0xFFUL << shift)) | ((value & 0xFF) << shift);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Load(X86Cpu c, ulong lin) => c.Load<byte>(lin);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(X86Cpu c, ulong lin, ulong value) => c.Store(lin, (byte)value);
    public static unsafe ulong Cas(byte* p, ulong value, ulong comparand) => Interlocked.CompareExchange(ref *p, (byte)value, (byte)comparand);
    public static ulong SignExtend(ulong v) => (ulong)(long)(sbyte)v;
}

internal struct S16 : ISize
{
    public static int Bytes => 2;
    public static ulong Mask => 0xFFFF;
    public static ulong Sign => 0x8000;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong GetReg(X86Cpu c, int reg, int shift) => c.R(reg) & 0xFFFF;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetReg(X86Cpu c, int reg, int shift, ulong value)
    {
        ref ulong r = ref c.R(reg);
        r = (r & ~0xFFFFUL) | (value & 0xFFFF);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Load(X86Cpu c, ulong lin) => c.Load<ushort>(lin);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(X86Cpu c, ulong lin, ulong value) => c.Store(lin, (ushort)value);
    public static unsafe ulong Cas(byte* p, ulong value, ulong comparand) => Interlocked.CompareExchange(ref *(ushort*)p, (ushort)value, (ushort)comparand);
    public static ulong SignExtend(ulong v) => (ulong)(long)(short)v;
}

internal struct S32 : ISize
{
    public static int Bytes => 4;
    public static ulong Mask => 0xFFFFFFFF;
    public static ulong Sign => 0x80000000;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong GetReg(X86Cpu c, int reg, int shift) => (uint)c.R(reg);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetReg(X86Cpu c, int reg, int shift, ulong value) => c.R(reg) = (uint)value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Load(X86Cpu c, ulong lin) => c.Load<uint>(lin);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(X86Cpu c, ulong lin, ulong value) => c.Store(lin, (uint)value);
    public static unsafe ulong Cas(byte* p, ulong value, ulong comparand) => (uint)Interlocked.CompareExchange(ref *(int*)p, (int)value, (int)comparand);
    public static ulong SignExtend(ulong v) => (ulong)(long)(int)v;
}

internal struct S64 : ISize
{
    public static int Bytes => 8;
    public static ulong Mask => ulong.MaxValue;
    public static ulong Sign => 0x8000000000000000;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong GetReg(X86Cpu c, int reg, int shift) => c.R(reg);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetReg(X86Cpu c, int reg, int shift, ulong value) => c.R(reg) = value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Load(X86Cpu c, ulong lin) => c.Load<ulong>(lin);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(X86Cpu c, ulong lin, ulong value) => c.Store(lin, value);
    public static unsafe ulong Cas(byte* p, ulong value, ulong comparand) => (ulong)Interlocked.CompareExchange(ref *(long*)p, (long)value, (long)comparand);
    public static ulong SignExtend(ulong v) => v;
}
