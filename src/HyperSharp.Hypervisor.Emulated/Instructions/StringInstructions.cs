using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>MOVS, STOS, LODS, SCAS, CMPS (Cond 0-4) with REP/REPE/REPNE: their translation and execution.</summary>
internal static unsafe class StringInstructions
{
    // Source is Seg:rSI (overridable), destination ES:rDI; the index width is AddrMask. Registers are
    // updated after every element, so a fault part-way leaves a restartable state (RIP stays on the instruction).

    internal static int StringOp<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong m = d.AddrMask;
        bool rep = (d.Flags & (InstrFlags.Rep | InstrFlags.Repne)) != 0;
        long step = (c.Flags.Rflags & Rf.DF) != 0 ? -TS.Bytes : TS.Bytes;
        ref ulong rsi = ref c.R(6), rdi = ref c.R(7), rcx = ref c.R(1);
        uint iterations = 0;
        while (true)
        {
            if (rep && (rcx & m) == 0) break;
            // A long REP yields to pending events every 1024 elements, as hardware takes interrupts between
            // iterations: RIP stays on the instruction, which resumes with the registers as they are.
            if (rep && (++iterations & 1023) == 0 && c.AttentionPending) return 1;
            switch (d.Cond)
            {
                case 0: TS.Store(c, c.Lin((int)Seg.Es, rdi & m), TS.Load(c, c.Lin(d.Seg, rsi & m))); Adv(ref rsi); Adv(ref rdi); break;
                case 1: TS.Store(c, c.Lin((int)Seg.Es, rdi & m), TS.GetReg(c, 0, 0)); Adv(ref rdi); break;
                case 2: TS.SetReg(c, 0, 0, TS.Load(c, c.Lin(d.Seg, rsi & m))); Adv(ref rsi); break;
                case 3:
                {
                    ulong a = TS.GetReg(c, 0, 0), b = TS.Load(c, c.Lin((int)Seg.Es, rdi & m));
                    c.Flags.Set(FlagOp.Sub, a, b, (a - b) & TS.Mask, TS.Sign);
                    Adv(ref rdi);
                    break;
                }
                default:
                {
                    ulong a = TS.Load(c, c.Lin(d.Seg, rsi & m)), b = TS.Load(c, c.Lin((int)Seg.Es, rdi & m));
                    c.Flags.Set(FlagOp.Sub, a, b, (a - b) & TS.Mask, TS.Sign);
                    Adv(ref rsi); Adv(ref rdi);
                    break;
                }
            }
            if (!rep) break;
            SetIndex(ref rcx, rcx - 1, m);
            if (d.Cond >= 3)
            {
                bool zf = c.Flags.ZF;
                if ((d.Flags & InstrFlags.Repne) != 0 ? zf : !zf) break;
            }
        }
        return 0;

        void Adv(ref ulong r) => SetIndex(ref r, r + (ulong)step, m);
    }

    /// <summary>Stores an index register (rSI, rDI, rCX) at the address size: 32-bit writes zero the upper half, 16-bit ones keep it.</summary>
    internal static void SetIndex(ref ulong r, ulong v, ulong m)
        => r = m == 0xFFFFFFFF ? (uint)v : (r & ~m) | (v & m);

    internal static Flow Translate(in Instruction ins, ref DecodedInstruction d)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Movsb: case Mnemonic.Movsw: case Mnemonic.Movsd: case Mnemonic.Movsq:
                if (ins.Op0Kind is not (OpKind.MemoryESDI or OpKind.MemoryESEDI or OpKind.MemoryESRDI)) return Flow.Unsupported; // SSE MOVSD
                d.Cond = 0; break;
            case Mnemonic.Stosb: case Mnemonic.Stosw: case Mnemonic.Stosd: case Mnemonic.Stosq: d.Cond = 1; break;
            case Mnemonic.Lodsb: case Mnemonic.Lodsw: case Mnemonic.Lodsd: case Mnemonic.Lodsq: d.Cond = 2; break;
            case Mnemonic.Scasb: case Mnemonic.Scasw: case Mnemonic.Scasd: case Mnemonic.Scasq: d.Cond = 3; break;
            case Mnemonic.Cmpsb: case Mnemonic.Cmpsw: case Mnemonic.Cmpsd: case Mnemonic.Cmpsq:
                if (ins.OpCount > 2) return Flow.Unsupported; // SSE CMPSD
                d.Cond = 4; break;
            default: return Flow.Unsupported;
        }
        if (d.Cond < 3 && (d.Flags & InstrFlags.Repne) != 0) { d.Flags &= unchecked((byte)~InstrFlags.Repne); d.Flags |= InstrFlags.Rep; }
        int size = ins.Mnemonic.ToString()[^1] switch { 'b' => 1, 'w' => 2, 'd' => 4, _ => 8 };
        d.Exec = Translator.BySize(size, &StringOp<S8>, &StringOp<S16>, &StringOp<S32>, &StringOp<S64>);
        return Flow.Continue;
    }
}
