using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;
using unsafe Handler = delegate*<HyperSharp.Hypervisor.Emulated.Execution.X86Cpu, ref HyperSharp.Hypervisor.Emulated.Decoding.DecodedInstruction, int>;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>MOV, MOVZX, MOVSX(D), LEA, XCHG, BSWAP, the CBW family: their translation and execution.</summary>
internal static unsafe class MoveInstructions
{
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int MovRR<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        TS.SetReg(c, d.Reg, d.RegShift, TS.GetReg(c, d.Rm, d.RmShift));
        return 0;
    }
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int MovRI<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        TS.SetReg(c, d.Reg, d.RegShift, d.Imm);
        return 0;
    }
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int MovRM<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        TS.SetReg(c, d.Reg, d.RegShift, TS.Load(c, c.Lin(ref d)));
        return 0;
    }
    /// <summary>Store of a register or (when Rm is the zero register) an immediate.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int MovM<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        TS.Store(c, c.Lin(ref d), TS.GetReg(c, d.Rm, d.RmShift) | d.Imm);
        return 0;
    }

    /// <summary>MOVZX/MOVSX: TD destination size, TS source size; Imm2 = 1 for sign extension.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int MovX<TD, TS>(X86Cpu c, ref DecodedInstruction d) where TD : struct, ISize where TS : struct, ISize
    {
        ulong v = c.ReadOp1<TS>(ref d);
        if (d.Imm2 != 0) v = TS.SignExtend(v);
        TD.SetReg(c, d.Reg, 0, v & TD.Mask);
        return 0;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int Lea<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        TS.SetReg(c, d.Reg, 0, c.Ea(ref d) & TS.Mask);
        return 0;
    }

    internal static int XchgRR<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong a = TS.GetReg(c, d.Reg, d.RegShift), b = TS.GetReg(c, d.Rm, d.RmShift);
        TS.SetReg(c, d.Reg, d.RegShift, b);
        TS.SetReg(c, d.Rm, d.RmShift, a);
        return 0;
    }

    /// <summary>XCHG with memory is always locked (SDM): an atomic exchange via compare-exchange.</summary>
    internal static int XchgM<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong lin = c.Lin(ref d);
        int reg = IsMemOp0(ref d) ? d.Rm : d.Reg, sh = IsMemOp0(ref d) ? d.RmShift : d.RegShift;
        ulong v = TS.GetReg(c, reg, sh);
        byte* p = c.PtrForWrite(lin, TS.Bytes);
        ulong old;
        if (p == null) lock (LinearMemory.SplitLock) { old = TS.Load(c, lin); TS.Store(c, lin, v); }
        else
        {
            old = TS.Cas(p, 0, 0) & TS.Mask;
            while (true) { ulong seen = TS.Cas(p, v, old) & TS.Mask; if (seen == old) break; old = seen; }
        }
        TS.SetReg(c, reg, sh, old);
        return 0;
    }

    private static bool IsMemOp0(ref DecodedInstruction d) => d.Imm2 == 1;

    internal static int Bswap<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong v = TS.GetReg(c, d.Reg, 0);
        v = TS.Bytes == 8 ? System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v)
            : TS.Bytes == 4 ? System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((uint)v) : 0; // 16-bit BSWAP is undefined: we produce 0
        TS.SetReg(c, d.Reg, 0, v);
        return 0;
    }

    /// <summary>CBW/CWDE/CDQE: sign-extend the lower half of rAX into rAX (TS = destination size).</summary>
    internal static int Cbw<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong v = c.R(0);
        ulong ext = TS.Bytes switch { 2 => (ulong)(long)(sbyte)v, 4 => (ulong)(long)(short)v, _ => (ulong)(long)(int)v };
        TS.SetReg(c, 0, 0, ext & TS.Mask);
        return 0;
    }

    /// <summary>CWD/CDQ/CQO: rDX = all copies of rAX's sign bit.</summary>
    internal static int Cwd<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        TS.SetReg(c, 2, 0, (TS.GetReg(c, 0, 0) & TS.Sign) != 0 ? TS.Mask : 0);
        return 0;
    }

    internal static Flow Translate(in Instruction ins, ref DecodedInstruction d)
    {
        var k0 = ins.Op0Kind;
        var k1 = ins.OpCount > 1 ? ins.Op1Kind : OpKind.Register;
        switch (ins.Mnemonic)
        {
            case Mnemonic.Mov:
                if (ins.Op0Register.IsSegmentRegister() || ins.Op1Register.IsSegmentRegister()
                    || ins.Op0Register.IsCR() || ins.Op1Register.IsCR() || ins.Op0Register.IsDR() || ins.Op1Register.IsDR())
                    return Flow.Unsupported; // handled by the system group
                if (k0 == OpKind.Memory)
                {
                    if (k1 != OpKind.Register) d.Rm = DecodedInstruction.ZeroIndex; else d.Imm = 0;
                    d.Exec = Translator.BySize(d.OpSize, &MovM<S8>, &MovM<S16>, &MovM<S32>, &MovM<S64>);
                }
                else if (k1 == OpKind.Memory) d.Exec = Translator.BySize(d.OpSize, &MovRM<S8>, &MovRM<S16>, &MovRM<S32>, &MovRM<S64>);
                else if (k1 == OpKind.Register) d.Exec = Translator.BySize(d.OpSize, &MovRR<S8>, &MovRR<S16>, &MovRR<S32>, &MovRR<S64>);
                else d.Exec = Translator.BySize(d.OpSize, &MovRI<S8>, &MovRI<S16>, &MovRI<S32>, &MovRI<S64>);
                return Flow.Continue;
            case Mnemonic.Movzx:
            case Mnemonic.Movsx:
            case Mnemonic.Movsxd:
            {
                int src = k1 == OpKind.Memory ? ins.MemorySize.GetSize() : ins.Op1Register.GetSize();
                d.Imm2 = ins.Mnemonic == Mnemonic.Movzx ? 0UL : 1UL;
                d.Exec = (d.OpSize, src) switch
                {
                    (2, 1) => &MovX<S16, S8>, (4, 1) => &MovX<S32, S8>, (8, 1) => &MovX<S64, S8>,
                    (2, 2) => &MovX<S16, S16>, (4, 2) => &MovX<S32, S16>, (8, 2) => &MovX<S64, S16>,
                    (4, 4) => &MovX<S32, S32>, (8, 4) => &MovX<S64, S32>, _ => &MovX<S16, S16>,
                };
                return Flow.Continue;
            }
            case Mnemonic.Lea:
                d.Exec = Translator.BySize(d.OpSize, &Lea<S16>, &Lea<S16>, &Lea<S32>, &Lea<S64>);
                return Flow.Continue;
            case Mnemonic.Xchg:
                if (k0 == OpKind.Memory || k1 == OpKind.Memory)
                {
                    d.Imm2 = k0 == OpKind.Memory ? 1UL : 0UL;
                    d.Exec = Translator.BySize(d.OpSize, &XchgM<S8>, &XchgM<S16>, &XchgM<S32>, &XchgM<S64>);
                }
                else d.Exec = Translator.BySize(d.OpSize, &XchgRR<S8>, &XchgRR<S16>, &XchgRR<S32>, &XchgRR<S64>);
                return Flow.Continue;
            case Mnemonic.Bswap:
                d.Exec = Translator.BySize(d.OpSize, &Bswap<S16>, &Bswap<S16>, &Bswap<S32>, &Bswap<S64>);
                return Flow.Continue;
            case Mnemonic.Cbw: d.Exec = &Cbw<S16>; return Flow.Continue;
            case Mnemonic.Cwde: d.Exec = &Cbw<S32>; return Flow.Continue;
            case Mnemonic.Cdqe: d.Exec = &Cbw<S64>; return Flow.Continue;
            case Mnemonic.Cwd: d.Exec = &Cwd<S16>; return Flow.Continue;
            case Mnemonic.Cdq: d.Exec = &Cwd<S32>; return Flow.Continue;
            case Mnemonic.Cqo: d.Exec = &Cwd<S64>; return Flow.Continue;
        }
        return Flow.Unsupported;
    }
}
