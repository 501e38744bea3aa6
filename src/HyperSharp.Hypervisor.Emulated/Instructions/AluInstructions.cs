using System.Runtime.CompilerServices;
using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;
using HyperSharp.Hypervisor.Emulated.Execution;
using unsafe Handler = delegate*<HyperSharp.Hypervisor.Emulated.Execution.X86Cpu, ref HyperSharp.Hypervisor.Emulated.Decoding.DecodedInstruction, int>;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>A two-operand ALU operation: computes the result and which lazy-flag kind describes it,
/// without touching CPU state (the handler commits flags only after the destination write succeeded).</summary>
internal interface IAluOp
{
    static abstract bool Writes { get; }
    static abstract ulong Compute<TS>(X86Cpu c, ulong a, ulong b, out int flagOp) where TS : struct, ISize;
}

internal struct AddOp : IAluOp
{
    public static bool Writes => true;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Compute<TS>(X86Cpu c, ulong a, ulong b, out int f) where TS : struct, ISize { f = FlagOp.Add; return (a + b) & TS.Mask; }
}
internal struct AdcOp : IAluOp
{
    public static bool Writes => true;
    public static ulong Compute<TS>(X86Cpu c, ulong a, ulong b, out int f) where TS : struct, ISize
    {
        bool cin = c.Flags.CF;
        f = cin ? FlagOp.Adc : FlagOp.Add;
        return (a + b + (cin ? 1UL : 0)) & TS.Mask;
    }
}
internal struct SubOp : IAluOp
{
    public static bool Writes => true;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Compute<TS>(X86Cpu c, ulong a, ulong b, out int f) where TS : struct, ISize { f = FlagOp.Sub; return (a - b) & TS.Mask; }
}
internal struct SbbOp : IAluOp
{
    public static bool Writes => true;
    public static ulong Compute<TS>(X86Cpu c, ulong a, ulong b, out int f) where TS : struct, ISize
    {
        bool cin = c.Flags.CF;
        f = cin ? FlagOp.Sbb : FlagOp.Sub;
        return (a - b - (cin ? 1UL : 0)) & TS.Mask;
    }
}
internal struct CmpOp : IAluOp
{
    public static bool Writes => false;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Compute<TS>(X86Cpu c, ulong a, ulong b, out int f) where TS : struct, ISize { f = FlagOp.Sub; return (a - b) & TS.Mask; }
}
internal struct AndOp : IAluOp
{
    public static bool Writes => true;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Compute<TS>(X86Cpu c, ulong a, ulong b, out int f) where TS : struct, ISize { f = FlagOp.Logic; return a & b & TS.Mask; }
}
internal struct TestOp : IAluOp
{
    public static bool Writes => false;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Compute<TS>(X86Cpu c, ulong a, ulong b, out int f) where TS : struct, ISize { f = FlagOp.Logic; return a & b & TS.Mask; }
}
internal struct OrOp : IAluOp
{
    public static bool Writes => true;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Compute<TS>(X86Cpu c, ulong a, ulong b, out int f) where TS : struct, ISize { f = FlagOp.Logic; return (a | b) & TS.Mask; }
}
internal struct XorOp : IAluOp
{
    public static bool Writes => true;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Compute<TS>(X86Cpu c, ulong a, ulong b, out int f) where TS : struct, ISize { f = FlagOp.Logic; return (a ^ b) & TS.Mask; }
}

/// <summary>ADD ADC SUB SBB CMP AND OR XOR TEST: one generic handler per operand form, their translation and the locked form.</summary>
internal static unsafe class AluInstructions
{
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int AluRR<TOp, TS>(X86Cpu c, ref DecodedInstruction d) where TOp : struct, IAluOp where TS : struct, ISize
    {
        ulong a = TS.GetReg(c, d.Reg, d.RegShift), b = TS.GetReg(c, d.Rm, d.RmShift);
        ulong r = TOp.Compute<TS>(c, a, b, out int f);
        if (TOp.Writes) TS.SetReg(c, d.Reg, d.RegShift, r);
        c.Flags.Set(f, a, b, r, TS.Sign);
        return 0;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int AluRI<TOp, TS>(X86Cpu c, ref DecodedInstruction d) where TOp : struct, IAluOp where TS : struct, ISize
    {
        ulong a = TS.GetReg(c, d.Reg, d.RegShift), b = d.Imm & TS.Mask;
        ulong r = TOp.Compute<TS>(c, a, b, out int f);
        if (TOp.Writes) TS.SetReg(c, d.Reg, d.RegShift, r);
        c.Flags.Set(f, a, b, r, TS.Sign);
        return 0;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int AluRM<TOp, TS>(X86Cpu c, ref DecodedInstruction d) where TOp : struct, IAluOp where TS : struct, ISize
    {
        ulong b = TS.Load(c, c.Lin(ref d));
        ulong a = TS.GetReg(c, d.Reg, d.RegShift);
        ulong r = TOp.Compute<TS>(c, a, b, out int f);
        if (TOp.Writes) TS.SetReg(c, d.Reg, d.RegShift, r);
        c.Flags.Set(f, a, b, r, TS.Sign);
        return 0;
    }

    /// <summary>Memory destination, register or immediate source (Imm used when <paramref name="d"/>.Rm is the zero register).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int AluM<TOp, TS>(X86Cpu c, ref DecodedInstruction d) where TOp : struct, IAluOp where TS : struct, ISize
    {
        ulong lin = c.Lin(ref d);
        ulong b = (TS.GetReg(c, d.Rm, d.RmShift) | d.Imm) & TS.Mask;
        ulong a = TS.Load(c, lin);
        ulong r = TOp.Compute<TS>(c, a, b, out int f);
        if (TOp.Writes) TS.Store(c, lin, r);
        c.Flags.Set(f, a, b, r, TS.Sign);
        return 0;
    }

    /// <summary>LOCK-prefixed memory form: a compare-exchange loop on the host location, so concurrent
    /// vCPUs see one atomic read-modify-write.</summary>
    internal static int AluMLocked<TOp, TS>(X86Cpu c, ref DecodedInstruction d) where TOp : struct, IAluOp where TS : struct, ISize
    {
        ulong lin = c.Lin(ref d);
        ulong b = (TS.GetReg(c, d.Rm, d.RmShift) | d.Imm) & TS.Mask;
        byte* p = c.PtrForWrite(lin, TS.Bytes);
        ulong a, r;
        int f;
        if (p == null)
        {
            lock (LinearMemory.SplitLock)
            {
                a = TS.Load(c, lin);
                r = TOp.Compute<TS>(c, a, b, out f);
                TS.Store(c, lin, r);
            }
        }
        else
        {
            a = TS.Cas(p, 0, 0) & TS.Mask;
            while (true)
            {
                r = TOp.Compute<TS>(c, a, b, out f);
                ulong seen = TS.Cas(p, r, a) & TS.Mask;
                if (seen == a) break;
                a = seen;
            }
        }
        c.Flags.Set(f, a, b, r, TS.Sign);
        return 0;
    }

    internal static Handler PickAlu<TOp>(ref DecodedInstruction d, bool memDst, bool memSrc, bool immSrc) where TOp : struct, IAluOp
    {
        bool locked = (d.Flags & InstrFlags.Lock) != 0;
        if (memDst && immSrc) d.Rm = DecodedInstruction.ZeroIndex;
        if (memDst && !immSrc) d.Imm = 0;
        return (d.OpSize, memDst ? (locked ? 3 : 2) : memSrc ? 1 : immSrc ? 4 : 0) switch
        {
            (1, 0) => &AluRR<TOp, S8>, (2, 0) => &AluRR<TOp, S16>, (4, 0) => &AluRR<TOp, S32>, (8, 0) => &AluRR<TOp, S64>,
            (1, 1) => &AluRM<TOp, S8>, (2, 1) => &AluRM<TOp, S16>, (4, 1) => &AluRM<TOp, S32>, (8, 1) => &AluRM<TOp, S64>,
            (1, 2) => &AluM<TOp, S8>, (2, 2) => &AluM<TOp, S16>, (4, 2) => &AluM<TOp, S32>, (8, 2) => &AluM<TOp, S64>,
            (1, 3) => &AluMLocked<TOp, S8>, (2, 3) => &AluMLocked<TOp, S16>, (4, 3) => &AluMLocked<TOp, S32>, (8, 3) => &AluMLocked<TOp, S64>,
            (1, 4) => &AluRI<TOp, S8>, (2, 4) => &AluRI<TOp, S16>, (4, 4) => &AluRI<TOp, S32>, _ => &AluRI<TOp, S64>,
        };
    }

    internal static Flow Translate(in Instruction ins, ref DecodedInstruction d)
    {
        bool memDst = ins.Op0Kind == OpKind.Memory;
        bool memSrc = ins.Op1Kind == OpKind.Memory;
        bool immSrc = ins.Op1Kind != OpKind.Register && !memSrc;
        if ((d.Flags & InstrFlags.Lock) != 0 && (!memDst || ins.Mnemonic is Mnemonic.Cmp or Mnemonic.Test)) return Flow.Unsupported;
        d.Exec = ins.Mnemonic switch
        {
            Mnemonic.Add => PickAlu<AddOp>(ref d, memDst, memSrc, immSrc),
            Mnemonic.Adc => PickAlu<AdcOp>(ref d, memDst, memSrc, immSrc),
            Mnemonic.Sub => PickAlu<SubOp>(ref d, memDst, memSrc, immSrc),
            Mnemonic.Sbb => PickAlu<SbbOp>(ref d, memDst, memSrc, immSrc),
            Mnemonic.Cmp => PickAlu<CmpOp>(ref d, memDst, memSrc, immSrc),
            Mnemonic.And => PickAlu<AndOp>(ref d, memDst, memSrc, immSrc),
            Mnemonic.Or => PickAlu<OrOp>(ref d, memDst, memSrc, immSrc),
            Mnemonic.Xor => PickAlu<XorOp>(ref d, memDst, memSrc, immSrc),
            _ => PickAlu<TestOp>(ref d, memDst, memSrc, immSrc),
        };
        return Flow.Continue;
    }
}
