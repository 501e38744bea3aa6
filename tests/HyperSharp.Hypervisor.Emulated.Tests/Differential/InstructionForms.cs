using Iced.Intel;

namespace HyperSharp.Hypervisor.Emulated.Tests.Differential;

/// <summary>
/// Every legacy-encoded 64-bit-mode form (Iced <see cref="Code"/>) of the general-purpose instructions
/// under differential test, and a way to instantiate one with random registers, immediates and a
/// [rbp+disp] memory operand.
/// </summary>
internal static class InstructionForms
{
    private static readonly HashSet<Mnemonic> Mnemonics = new()
    {
        Mnemonic.Add, Mnemonic.Adc, Mnemonic.Sub, Mnemonic.Sbb, Mnemonic.Cmp, Mnemonic.And, Mnemonic.Or, Mnemonic.Xor,
        Mnemonic.Test, Mnemonic.Inc, Mnemonic.Dec, Mnemonic.Neg, Mnemonic.Not, Mnemonic.Mov, Mnemonic.Movzx, Mnemonic.Movsx,
        Mnemonic.Movsxd, Mnemonic.Xchg, Mnemonic.Cmpxchg, Mnemonic.Xadd, Mnemonic.Bswap, Mnemonic.Rol, Mnemonic.Ror,
        Mnemonic.Rcl, Mnemonic.Rcr, Mnemonic.Shl, Mnemonic.Sal, Mnemonic.Shr, Mnemonic.Sar, Mnemonic.Shld, Mnemonic.Shrd,
        Mnemonic.Mul, Mnemonic.Imul, Mnemonic.Bt, Mnemonic.Bts, Mnemonic.Btr, Mnemonic.Btc, Mnemonic.Bsf, Mnemonic.Bsr,
        Mnemonic.Popcnt, Mnemonic.Cbw, Mnemonic.Cwde, Mnemonic.Cdqe, Mnemonic.Cwd, Mnemonic.Cdq, Mnemonic.Cqo,
        Mnemonic.Clc, Mnemonic.Stc, Mnemonic.Cmc, Mnemonic.Lahf, Mnemonic.Sahf,
        Mnemonic.Seto, Mnemonic.Setno, Mnemonic.Setb, Mnemonic.Setae, Mnemonic.Sete, Mnemonic.Setne, Mnemonic.Setbe,
        Mnemonic.Seta, Mnemonic.Sets, Mnemonic.Setns, Mnemonic.Setp, Mnemonic.Setnp, Mnemonic.Setl, Mnemonic.Setge,
        Mnemonic.Setle, Mnemonic.Setg, Mnemonic.Cmovo, Mnemonic.Cmovno, Mnemonic.Cmovb, Mnemonic.Cmovae, Mnemonic.Cmove,
        Mnemonic.Cmovne, Mnemonic.Cmovbe, Mnemonic.Cmova, Mnemonic.Cmovs, Mnemonic.Cmovns, Mnemonic.Cmovp, Mnemonic.Cmovnp,
        Mnemonic.Cmovl, Mnemonic.Cmovge, Mnemonic.Cmovle, Mnemonic.Cmovg, Mnemonic.Div, Mnemonic.Idiv,
    };

    /// <summary>Forms whose result (not just flags) the SDM leaves undefined for some inputs.</summary>
    private static readonly HashSet<Code> UndefinedResult = new()
    {
        Code.Bswap_r16, Code.Shld_rm16_r16_imm8, Code.Shld_rm16_r16_CL, Code.Shrd_rm16_r16_imm8, Code.Shrd_rm16_r16_CL,
    };

    /// <summary>The forms, computed once: legacy encoding, valid in 64-bit mode, operands we can synthesize.</summary>
    public static readonly Code[] All = Enum.GetValues<Code>()
        .Where(c => c.ToOpCode() is var op && op.Encoding == EncodingKind.Legacy && op.Mode64 && Mnemonics.Contains(c.Mnemonic())
            && op.IsInstruction && !UndefinedResult.Contains(c) && Enumerable.Range(0, op.OpCount).All(i => Supported(op.GetOpKind(i))))
        .ToArray();

    private static bool Supported(OpCodeOperandKind k) => k switch
    {
        OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r64_or_mem
        or OpCodeOperandKind.r8_reg or OpCodeOperandKind.r16_reg or OpCodeOperandKind.r32_reg or OpCodeOperandKind.r64_reg
        or OpCodeOperandKind.r8_opcode or OpCodeOperandKind.r16_opcode or OpCodeOperandKind.r32_opcode or OpCodeOperandKind.r64_opcode
        or OpCodeOperandKind.imm8 or OpCodeOperandKind.imm16 or OpCodeOperandKind.imm32 or OpCodeOperandKind.imm64
        or OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32 or OpCodeOperandKind.imm8sex64 or OpCodeOperandKind.imm32sex64
        or OpCodeOperandKind.imm8_const_1 or OpCodeOperandKind.al or OpCodeOperandKind.ax or OpCodeOperandKind.eax
        or OpCodeOperandKind.rax or OpCodeOperandKind.cl or OpCodeOperandKind.mem => true,
        _ => false,
    };

    // GPRs the harness lets the instruction use: not RSP (stack), RBP (memory base), RDI (harness block).
    private static readonly int[] UsableGprs = { 0, 1, 2, 3, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

    private static Register Gpr(int size, Random rng, bool opcodeForm)
    {
        _ = opcodeForm;
        return GprOf(size, rng);
    }

    private static Register GprOf(int size, Random rng)
    {
        int n = UsableGprs[rng.Next(UsableGprs.Length)];
        return size switch
        {
            1 => n < 4 ? Register.AL + n : n < 8 ? Register.SPL + (n - 4) : Register.R8L + (n - 8),
            2 => Register.AX + n,
            4 => Register.EAX + n,
            _ => Register.RAX + n,
        };
    }

    /// <summary>Builds a random instance of <paramref name="code"/>, or null when this form should be skipped
    /// (e.g. it would address memory through a register other than RBP).</summary>
    public static Instruction? Instantiate(Code code, Random rng)
    {
        var op = code.ToOpCode();
        var ins = new Instruction { Code = code };
        for (int i = 0; i < op.OpCount; i++)
        {
            var k = op.GetOpKind(i);
            switch (k)
            {
                case OpCodeOperandKind.r8_or_mem: case OpCodeOperandKind.r16_or_mem:
                case OpCodeOperandKind.r32_or_mem: case OpCodeOperandKind.r64_or_mem:
                    if (rng.Next(3) == 0) SetMem(ref ins, i, rng);
                    else Reg(ref ins, i, Gpr(SizeOf(k), rng, false));
                    break;
                case OpCodeOperandKind.mem:
                    SetMem(ref ins, i, rng); break;
                case OpCodeOperandKind.r8_reg: case OpCodeOperandKind.r8_opcode: Reg(ref ins, i, Gpr(1, rng, true)); break;
                case OpCodeOperandKind.r16_reg: case OpCodeOperandKind.r16_opcode: Reg(ref ins, i, Gpr(2, rng, true)); break;
                case OpCodeOperandKind.r32_reg: case OpCodeOperandKind.r32_opcode: Reg(ref ins, i, Gpr(4, rng, true)); break;
                case OpCodeOperandKind.r64_reg: case OpCodeOperandKind.r64_opcode: Reg(ref ins, i, Gpr(8, rng, true)); break;
                case OpCodeOperandKind.al: Reg(ref ins, i, Register.AL); break;
                case OpCodeOperandKind.ax: Reg(ref ins, i, Register.AX); break;
                case OpCodeOperandKind.eax: Reg(ref ins, i, Register.EAX); break;
                case OpCodeOperandKind.rax: Reg(ref ins, i, Register.RAX); break;
                case OpCodeOperandKind.cl: Reg(ref ins, i, Register.CL); break;
                case OpCodeOperandKind.imm8_const_1: ins.SetOpKind(i, OpKind.Immediate8); ins.Immediate8 = 1; break;
                case OpCodeOperandKind.imm8:
                    if (i > 0 && ins.GetOpKind(i - 1) == OpKind.Immediate16) { ins.SetOpKind(i, OpKind.Immediate8_2nd); ins.Immediate8_2nd = (byte)rng.Next(256); }
                    else { ins.SetOpKind(i, OpKind.Immediate8); ins.Immediate8 = EdgeByte(rng); }
                    break;
                case OpCodeOperandKind.imm16: ins.SetOpKind(i, OpKind.Immediate16); ins.Immediate16 = (ushort)Values.Edge(rng); break;
                case OpCodeOperandKind.imm32: ins.SetOpKind(i, OpKind.Immediate32); ins.Immediate32 = (uint)Values.Edge(rng); break;
                case OpCodeOperandKind.imm64: ins.SetOpKind(i, OpKind.Immediate64); ins.Immediate64 = Values.Edge(rng); break;
                case OpCodeOperandKind.imm8sex16: ins.SetOpKind(i, OpKind.Immediate8to16); ins.Immediate8to16 = (sbyte)EdgeByte(rng); break;
                case OpCodeOperandKind.imm8sex32: ins.SetOpKind(i, OpKind.Immediate8to32); ins.Immediate8to32 = (sbyte)EdgeByte(rng); break;
                case OpCodeOperandKind.imm8sex64: ins.SetOpKind(i, OpKind.Immediate8to64); ins.Immediate8to64 = (sbyte)EdgeByte(rng); break;
                case OpCodeOperandKind.imm32sex64: ins.SetOpKind(i, OpKind.Immediate32to64); ins.Immediate32to64 = (int)Values.Edge(rng); break;
                default: return null;
            }
        }
        // BT* with a register bit offset and a memory operand address a bit string anywhere: keep it in the buffer
        // by skipping that combination (the emulator's unit tests cover it).
        if (code.Mnemonic() is Mnemonic.Bt or Mnemonic.Bts or Mnemonic.Btr or Mnemonic.Btc
            && ins.Op0Kind == OpKind.Memory && ins.Op1Kind == OpKind.Register) return null;
        return ins;
    }

    private static byte EdgeByte(Random rng) => rng.Next(4) switch { 0 => 0, 1 => 1, 2 => (byte)(rng.Next(2) == 0 ? 0x7F : 0x80), _ => (byte)rng.Next(256) };

    private static int SizeOf(OpCodeOperandKind k) => k switch
    {
        OpCodeOperandKind.r8_or_mem => 1, OpCodeOperandKind.r16_or_mem => 2, OpCodeOperandKind.r32_or_mem => 4, _ => 8,
    };

    private static void Reg(ref Instruction ins, int i, Register r) { ins.SetOpKind(i, OpKind.Register); ins.SetOpRegister(i, r); }

    private static void SetMem(ref Instruction ins, int i, Random rng)
    {
        ins.SetOpKind(i, OpKind.Memory);
        ins.MemoryBase = Register.RBP;
        ins.MemoryDisplacement64 = (ulong)(rng.Next(0, 28) * 8 + rng.Next(0, 2)); // sometimes misaligned, within 256 bytes
        ins.MemoryDisplSize = 1;
    }
}

/// <summary>Edge and random operand values.</summary>
internal static class Values
{
    private static readonly ulong[] Edges =
    {
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000,
        0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFE, 31, 32, 63, 64, 65,
    };

    public static ulong Edge(Random rng) => rng.Next(3) == 0 ? (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 40) : Edges[rng.Next(Edges.Length)];
}
