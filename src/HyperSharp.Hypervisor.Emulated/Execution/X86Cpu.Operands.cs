using System.Runtime.CompilerServices;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

public sealed unsafe partial class X86Cpu
{
    /// <summary>Effective address (offset within the segment) of the memory operand.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Ea(ref DecodedInstruction d) => (R(d.Base) + (R(d.Index) << d.Scale) + d.Disp) & d.AddrMask;

    /// <summary>Linear address of the memory operand.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Lin(ref DecodedInstruction d) => (Mode.SegBase(d.Seg) + Ea(ref d)) & Mode.LinMask;

    /// <summary>Linear address of segment:offset (string instructions, stack).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Lin(int seg, ulong offset) => (Mode.SegBase(seg) + offset) & Mode.LinMask;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool IsMem(ref DecodedInstruction d) => (d.Flags & InstrFlags.MemOperand) != 0;

    /// <summary>Operand 0 (register in Reg, or the memory operand).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong ReadOp0<TS>(ref DecodedInstruction d) where TS : struct, ISize
        => IsMem(ref d) ? TS.Load(this, Lin(ref d)) : TS.GetReg(this, d.Reg, d.RegShift);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void WriteOp0<TS>(ref DecodedInstruction d, ulong v) where TS : struct, ISize
    {
        if (IsMem(ref d)) TS.Store(this, Lin(ref d), v);
        else TS.SetReg(this, d.Reg, d.RegShift, v);
    }

    /// <summary>Operand 1 (register in Rm, or the memory operand).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong ReadOp1<TS>(ref DecodedInstruction d) where TS : struct, ISize
        => IsMem(ref d) ? TS.Load(this, Lin(ref d)) : TS.GetReg(this, d.Rm, d.RmShift);

    // ---- stack ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Push<TS>(ulong v) where TS : struct, ISize
    {
        ulong sp = R(4);
        ulong nsp = (sp & ~Mode.StackMask) | ((sp - (ulong)TS.Bytes) & Mode.StackMask);
        TS.Store(this, Lin((int)Seg.Ss, nsp & Mode.StackMask), v);
        R(4) = nsp;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Pop<TS>() where TS : struct, ISize
    {
        ulong sp = R(4);
        ulong v = TS.Load(this, Lin((int)Seg.Ss, sp & Mode.StackMask));
        R(4) = (sp & ~Mode.StackMask) | ((sp + (ulong)TS.Bytes) & Mode.StackMask);
        return v;
    }

    /// <summary>Reads the stack at RSP + offset without moving RSP (for pops that must not commit yet).</summary>
    internal ulong PeekStack<TS>(ulong offset) where TS : struct, ISize
        => TS.Load(this, Lin((int)Seg.Ss, (R(4) + offset) & Mode.StackMask));

    internal void AdjustSp(ulong delta) => R(4) = (R(4) & ~Mode.StackMask) | ((R(4) + delta) & Mode.StackMask);

    internal void Push16(ushort v) => Push<S16>(v);
}
