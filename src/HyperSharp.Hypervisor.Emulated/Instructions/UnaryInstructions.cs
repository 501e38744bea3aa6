using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>INC, DEC, NEG, NOT, CMOVcc, SETcc, XADD, CMPXCHG: their translation and execution.</summary>
internal static unsafe class UnaryInstructions
{
    // Read-modify-write on memory: Load, compute, Store, then flags — a faulting Store leaves flags intact.
    // Cond holds the sub-operation: 0 INC, 1 DEC, 2 NEG, 3 NOT.

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int IncR<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong a = TS.GetReg(c, d.Reg, d.RegShift), r = (a + 1) & TS.Mask;
        TS.SetReg(c, d.Reg, d.RegShift, r);
        c.Flags.KeepCarryFor(FlagOp.Inc, a, r, TS.Sign);
        return 0;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int DecR<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong a = TS.GetReg(c, d.Reg, d.RegShift), r = (a - 1) & TS.Mask;
        TS.SetReg(c, d.Reg, d.RegShift, r);
        c.Flags.KeepCarryFor(FlagOp.Dec, a, r, TS.Sign);
        return 0;
    }

    /// <summary>Any of INC DEC NEG NOT on memory or a register, optionally LOCKed.</summary>
    internal static int Unary<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        bool mem = X86Cpu.IsMem(ref d);
        ulong lin = mem ? c.Lin(ref d) : 0;
        bool locked = (d.Flags & InstrFlags.Lock) != 0;
        byte* p = locked ? c.PtrForWrite(lin, TS.Bytes) : null;
        ulong a = mem ? (p != null ? TS.Cas(p, 0, 0) & TS.Mask : TS.Load(c, lin)) : TS.GetReg(c, d.Reg, d.RegShift);
        ulong r;
        while (true)
        {
            r = d.Cond switch { 0 => a + 1, 1 => a - 1, 2 => 0 - a, _ => ~a } & TS.Mask;
            if (p == null) break;
            ulong seen = TS.Cas(p, r, a) & TS.Mask;
            if (seen == a) break;
            a = seen;
        }
        if (p == null)
        {
            if (mem)
            {
                if (locked) lock (LinearMemory.SplitLock) TS.Store(c, lin, r);
                else TS.Store(c, lin, r);
            }
            else TS.SetReg(c, d.Reg, d.RegShift, r);
        }
        switch (d.Cond)
        {
            case 0: c.Flags.KeepCarryFor(FlagOp.Inc, a, r, TS.Sign); break;
            case 1: c.Flags.KeepCarryFor(FlagOp.Dec, a, r, TS.Sign); break;
            case 2: c.Flags.Set(FlagOp.Sub, 0, a, r, TS.Sign); break;
        }
        return 0;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int Cmov<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        // The source is read (and may fault) whatever the condition; a 32-bit CMOV zero-extends even when false.
        ulong v = c.ReadOp1<TS>(ref d);
        TS.SetReg(c, d.Reg, 0, c.Flags.Cond(d.Cond) ? v : TS.GetReg(c, d.Reg, 0));
        return 0;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)] // inlined into compiled blocks (Translation/)
    internal static int Setcc(X86Cpu c, ref DecodedInstruction d)
    {
        c.WriteOp0<S8>(ref d, c.Flags.Cond(d.Cond) ? 1UL : 0UL);
        return 0;
    }

    internal static int Xadd<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong b = TS.GetReg(c, d.Rm, d.RmShift);
        ulong a, r;
        if (X86Cpu.IsMem(ref d))
        {
            ulong lin = c.Lin(ref d);
            byte* p = c.PtrForWrite(lin, TS.Bytes);
            if (p == null) lock (LinearMemory.SplitLock) { a = TS.Load(c, lin); r = (a + b) & TS.Mask; TS.Store(c, lin, r); }
            else
            {
                a = TS.Cas(p, 0, 0) & TS.Mask;
                while (true) { r = (a + b) & TS.Mask; ulong seen = TS.Cas(p, r, a) & TS.Mask; if (seen == a) break; a = seen; }
            }
            TS.SetReg(c, d.Rm, d.RmShift, a);
        }
        else
        {
            a = TS.GetReg(c, d.Reg, d.RegShift);
            r = (a + b) & TS.Mask;
            TS.SetReg(c, d.Rm, d.RmShift, a);
            TS.SetReg(c, d.Reg, d.RegShift, r);
        }
        c.Flags.Set(FlagOp.Add, a, b, r, TS.Sign);
        return 0;
    }

    /// <summary>CMPXCHG: compare rAX with the destination; equal: dest = src, else rAX = dest. Memory is always
    /// written (with the old value when unequal), as the SDM specifies, which the CAS does atomically.</summary>
    internal static int Cmpxchg<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong acc = TS.GetReg(c, 0, 0), src = TS.GetReg(c, d.Rm, d.RmShift), old;
        if (X86Cpu.IsMem(ref d))
        {
            ulong lin = c.Lin(ref d);
            byte* p = c.PtrForWrite(lin, TS.Bytes);
            if (p == null) lock (LinearMemory.SplitLock) { old = TS.Load(c, lin); TS.Store(c, lin, old == acc ? src : old); }
            else old = TS.Cas(p, src, acc) & TS.Mask;
        }
        else
        {
            old = TS.GetReg(c, d.Reg, d.RegShift);
            if (old == acc) TS.SetReg(c, d.Reg, d.RegShift, src);
        }
        if (old != acc) TS.SetReg(c, 0, 0, old);
        c.Flags.Set(FlagOp.Sub, acc, old, (acc - old) & TS.Mask, TS.Sign);
        return 0;
    }

    /// <summary>CMPXCHG8B / CMPXCHG16B (Imm2 = 16): compare EDX:EAX (RDX:RAX) with m64 (m128).</summary>
    internal static int Cmpxchg8b(X86Cpu c, ref DecodedInstruction d)
    {
        ulong lin = c.Lin(ref d);
        bool wide = d.Imm2 == 16;
        if (wide && (lin & 15) != 0) throw c.Fault(Vec.GP, 0);
        byte* p = c.PtrForWrite(lin, wide ? 16 : 8);
        bool equal;
        if (!wide)
        {
            ulong expect = (uint)c.R(0) | ((ulong)(uint)c.R(2) << 32);
            ulong repl = (uint)c.R(3) | ((ulong)(uint)c.R(1) << 32);
            ulong old;
            if (p != null) old = (ulong)Interlocked.CompareExchange(ref *(long*)p, (long)repl, (long)expect);
            else lock (LinearMemory.SplitLock) { old = c.Load<ulong>(lin); c.Store(lin, old == expect ? repl : old); }
            equal = old == expect;
            if (!equal) { c.R(0) = (uint)old; c.R(2) = old >> 32; }
        }
        else
        {
            // .NET has no 128-bit interlocked op: serialize all CMPXCHG16Bs (and split locks) on one lock.
            // Plain stores by other vCPUs to the same location are not excluded — x86 guests only use it
            // on locations they update with locked instructions, which all take this path or a CAS.
            lock (LinearMemory.SplitLock)
            {
                ulong lo = c.Load<ulong>(lin), hi = c.Load<ulong>(lin + 8);
                equal = lo == c.R(0) && hi == c.R(2);
                if (equal) { c.Store(lin, c.R(3)); c.Store(lin + 8, c.R(1)); }
                else { c.Store(lin, lo); c.Store(lin + 8, hi); c.R(0) = lo; c.R(2) = hi; }
            }
        }
        c.Flags.Materialize();
        c.Flags.Rflags = equal ? c.Flags.Rflags | Rf.ZF : c.Flags.Rflags & ~Rf.ZF;
        return 0;
    }

    internal static Flow Translate(in Instruction ins, ref DecodedInstruction d)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Inc: d.Cond = 0; break;
            case Mnemonic.Dec: d.Cond = 1; break;
            case Mnemonic.Neg: d.Cond = 2; break;
            case Mnemonic.Not: d.Cond = 3; break;
            case Mnemonic.Setb: case Mnemonic.Setae: case Mnemonic.Sete: case Mnemonic.Setne: case Mnemonic.Setbe:
            case Mnemonic.Seta: case Mnemonic.Sets: case Mnemonic.Setns: case Mnemonic.Setp: case Mnemonic.Setnp:
            case Mnemonic.Setl: case Mnemonic.Setge: case Mnemonic.Setle: case Mnemonic.Setg: case Mnemonic.Seto: case Mnemonic.Setno:
                d.Exec = &Setcc; return Flow.Continue;
            case Mnemonic.Cmovb: case Mnemonic.Cmovae: case Mnemonic.Cmove: case Mnemonic.Cmovne: case Mnemonic.Cmovbe:
            case Mnemonic.Cmova: case Mnemonic.Cmovs: case Mnemonic.Cmovns: case Mnemonic.Cmovp: case Mnemonic.Cmovnp:
            case Mnemonic.Cmovl: case Mnemonic.Cmovge: case Mnemonic.Cmovle: case Mnemonic.Cmovg: case Mnemonic.Cmovo: case Mnemonic.Cmovno:
                d.Exec = Translator.BySize(d.OpSize, &Cmov<S16>, &Cmov<S16>, &Cmov<S32>, &Cmov<S64>); return Flow.Continue;
            case Mnemonic.Xadd:
                d.Exec = Translator.BySize(d.OpSize, &Xadd<S8>, &Xadd<S16>, &Xadd<S32>, &Xadd<S64>); return Flow.Continue;
            case Mnemonic.Cmpxchg:
                d.Exec = Translator.BySize(d.OpSize, &Cmpxchg<S8>, &Cmpxchg<S16>, &Cmpxchg<S32>, &Cmpxchg<S64>); return Flow.Continue;
            case Mnemonic.Cmpxchg8b:
            case Mnemonic.Cmpxchg16b:
                d.Imm2 = ins.Mnemonic == Mnemonic.Cmpxchg16b ? 16UL : 8UL;
                d.Exec = &Cmpxchg8b; return Flow.Continue;
            default: return Flow.Unsupported;
        }
        bool simple = ins.Op0Kind == OpKind.Register && d.Cond < 2;
        d.Exec = !simple ? Translator.BySize(d.OpSize, &Unary<S8>, &Unary<S16>, &Unary<S32>, &Unary<S64>)
            : d.Cond == 0 ? Translator.BySize(d.OpSize, &IncR<S8>, &IncR<S16>, &IncR<S32>, &IncR<S64>)
            : Translator.BySize(d.OpSize, &DecR<S8>, &DecR<S16>, &DecR<S32>, &DecR<S64>);
        return Flow.Continue;
    }
}
