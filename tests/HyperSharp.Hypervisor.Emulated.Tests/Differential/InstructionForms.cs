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
        // SSE/SSE2
        Mnemonic.Movdqa, Mnemonic.Movdqu, Mnemonic.Movaps, Mnemonic.Movups, Mnemonic.Movapd, Mnemonic.Movupd,
        Mnemonic.Movd, Mnemonic.Movq, Mnemonic.Movss, Mnemonic.Movsd, Mnemonic.Movlps, Mnemonic.Movhps, Mnemonic.Movlpd,
        Mnemonic.Movhpd, Mnemonic.Movlhps, Mnemonic.Movhlps, Mnemonic.Pmovmskb, Mnemonic.Movmskps, Mnemonic.Movmskpd,
        Mnemonic.Pextrw, Mnemonic.Pinsrw, Mnemonic.Pxor, Mnemonic.Por, Mnemonic.Pand, Mnemonic.Pandn, Mnemonic.Xorps,
        Mnemonic.Xorpd, Mnemonic.Orps, Mnemonic.Orpd, Mnemonic.Andps, Mnemonic.Andpd, Mnemonic.Andnps, Mnemonic.Andnpd,
        Mnemonic.Paddb, Mnemonic.Paddw, Mnemonic.Paddd, Mnemonic.Paddq, Mnemonic.Psubb, Mnemonic.Psubw, Mnemonic.Psubd,
        Mnemonic.Psubq, Mnemonic.Paddusb, Mnemonic.Psubusb, Mnemonic.Paddusw, Mnemonic.Psubusw, Mnemonic.Pmullw,
        Mnemonic.Pmuludq, Mnemonic.Pminub, Mnemonic.Pmaxub, Mnemonic.Pminsw, Mnemonic.Pmaxsw, Mnemonic.Pavgb, Mnemonic.Psadbw,
        Mnemonic.Pcmpeqb, Mnemonic.Pcmpeqw, Mnemonic.Pcmpeqd, Mnemonic.Pcmpgtb, Mnemonic.Pcmpgtw, Mnemonic.Pcmpgtd,
        Mnemonic.Punpcklbw, Mnemonic.Punpckhbw, Mnemonic.Punpcklwd, Mnemonic.Punpckhwd, Mnemonic.Punpckldq, Mnemonic.Punpckhdq,
        Mnemonic.Punpcklqdq, Mnemonic.Punpckhqdq, Mnemonic.Unpcklps, Mnemonic.Unpckhps, Mnemonic.Unpcklpd, Mnemonic.Unpckhpd,
        Mnemonic.Packuswb, Mnemonic.Packsswb, Mnemonic.Packssdw, Mnemonic.Pshufd, Mnemonic.Pshuflw, Mnemonic.Pshufhw,
        Mnemonic.Shufps, Mnemonic.Shufpd, Mnemonic.Psllw, Mnemonic.Psrlw, Mnemonic.Psraw, Mnemonic.Pslld, Mnemonic.Psrld,
        Mnemonic.Psrad, Mnemonic.Psllq, Mnemonic.Psrlq, Mnemonic.Pslldq, Mnemonic.Psrldq,
        Mnemonic.Addps, Mnemonic.Subps, Mnemonic.Mulps, Mnemonic.Divps, Mnemonic.Addpd, Mnemonic.Subpd, Mnemonic.Mulpd,
        Mnemonic.Divpd, Mnemonic.Addss, Mnemonic.Subss, Mnemonic.Mulss, Mnemonic.Divss, Mnemonic.Addsd, Mnemonic.Subsd,
        Mnemonic.Mulsd, Mnemonic.Divsd, Mnemonic.Sqrtss, Mnemonic.Sqrtsd, Mnemonic.Sqrtps, Mnemonic.Sqrtpd, Mnemonic.Minss,
        Mnemonic.Maxss, Mnemonic.Minsd, Mnemonic.Maxsd, Mnemonic.Minpd, Mnemonic.Maxpd, Mnemonic.Cvtss2sd, Mnemonic.Cvtsd2ss,
        Mnemonic.Cvtdq2pd, Mnemonic.Cvtdq2ps, Mnemonic.Cvtps2pd, Mnemonic.Cvtpd2ps, Mnemonic.Cvttps2dq, Mnemonic.Cvttpd2dq,
        Mnemonic.Cmpss, Mnemonic.Cmpsd, Mnemonic.Cmpps, Mnemonic.Cmppd, Mnemonic.Comiss, Mnemonic.Ucomiss, Mnemonic.Comisd,
        Mnemonic.Ucomisd, Mnemonic.Cvtsi2ss, Mnemonic.Cvtsi2sd, Mnemonic.Cvtss2si, Mnemonic.Cvtsd2si, Mnemonic.Cvttss2si,
        Mnemonic.Cvttsd2si, Mnemonic.Pavgw, Mnemonic.Paddsb, Mnemonic.Psubsb, Mnemonic.Paddsw, Mnemonic.Psubsw, Mnemonic.Pmulhw,
        Mnemonic.Pmulhuw, Mnemonic.Pmaddwd, Mnemonic.Cvtps2dq, Mnemonic.Cvtpd2dq, Mnemonic.Minps, Mnemonic.Maxps, Mnemonic.Movnti,
        Mnemonic.Addsubps, Mnemonic.Addsubpd, Mnemonic.Haddps, Mnemonic.Haddpd, Mnemonic.Hsubps, Mnemonic.Hsubpd, Mnemonic.Movddup,
        Mnemonic.Movshdup, Mnemonic.Movsldup, Mnemonic.Lddqu, Mnemonic.Pshufb, Mnemonic.Phaddw, Mnemonic.Phaddd, Mnemonic.Phaddsw,
        Mnemonic.Phsubw, Mnemonic.Phsubd, Mnemonic.Phsubsw, Mnemonic.Pmaddubsw, Mnemonic.Pmulhrsw, Mnemonic.Psignb, Mnemonic.Psignw,
        Mnemonic.Psignd, Mnemonic.Pabsb, Mnemonic.Pabsw, Mnemonic.Pabsd, Mnemonic.Palignr,
    };

    /// <summary>CPUID features of the emulated model: forms needing others (SSE4.1 PEXTRW m16, ...) are #UD by design.</summary>
    private static readonly HashSet<CpuidFeature> Advertised = new()
    {
        CpuidFeature.INTEL8086, CpuidFeature.INTEL186, CpuidFeature.INTEL286, CpuidFeature.INTEL386, CpuidFeature.INTEL486,
        CpuidFeature.X64, CpuidFeature.CMOV, CpuidFeature.SSE, CpuidFeature.SSE2, CpuidFeature.POPCNT,
        CpuidFeature.SSE3, CpuidFeature.SSSE3,
    };

    /// <summary>Forms whose result (not just flags) the SDM leaves undefined for some inputs (BSWAP r16; SHLD/SHRD r16 by
    /// more than 16). The emulator produces what Intel processors do; AMD's results are not recorded (FLAGS.md).</summary>
    private static readonly Code[] UndefinedResult =
    [
        Code.Bswap_r16, Code.Shld_rm16_r16_imm8, Code.Shld_rm16_r16_CL, Code.Shrd_rm16_r16_imm8, Code.Shrd_rm16_r16_CL,
    ];

    /// <summary>The forms to compare against a processor of <paramref name="vendor"/>: <see cref="All"/>, and for Intel the
    /// forms with undefined results as well (null: a vendor the emulator does not model).</summary>
    public static Code[] For(ProcessorVendor? vendor) => vendor == ProcessorVendor.Intel ? [.. All, .. UndefinedResult] : All;

    /// <summary>x87 instructions with a defined result (transcendentals and the environment stores, which record
    /// instruction pointers, are left out).</summary>
    public static readonly HashSet<Mnemonic> X87 = new()
    {
        Mnemonic.Fld, Mnemonic.Fst, Mnemonic.Fstp, Mnemonic.Fild, Mnemonic.Fist, Mnemonic.Fistp, Mnemonic.Fldz, Mnemonic.Fld1,
        Mnemonic.Fldpi, Mnemonic.Fldl2e, Mnemonic.Fldlg2, Mnemonic.Fldln2, Mnemonic.Fldl2t, Mnemonic.Fxch, Mnemonic.Fchs, Mnemonic.Fabs,
        Mnemonic.Fadd, Mnemonic.Faddp, Mnemonic.Fiadd, Mnemonic.Fsub, Mnemonic.Fsubp, Mnemonic.Fisub, Mnemonic.Fsubr,
        Mnemonic.Fsubrp, Mnemonic.Fisubr, Mnemonic.Fmul, Mnemonic.Fmulp, Mnemonic.Fimul, Mnemonic.Fdiv, Mnemonic.Fdivp,
        Mnemonic.Fidiv, Mnemonic.Fdivr, Mnemonic.Fdivrp, Mnemonic.Fidivr, Mnemonic.Fcom, Mnemonic.Fcomp, Mnemonic.Fcompp,
        Mnemonic.Ficom, Mnemonic.Ficomp, Mnemonic.Fucom, Mnemonic.Fucomp, Mnemonic.Fucompp, Mnemonic.Fcomi, Mnemonic.Fcomip,
        Mnemonic.Fucomi, Mnemonic.Fucomip, Mnemonic.Ftst, Mnemonic.Fxam, Mnemonic.Frndint, Mnemonic.Fsqrt, Mnemonic.Fscale,
        Mnemonic.Fprem, Mnemonic.Fprem1, Mnemonic.Ffree, Mnemonic.Fincstp, Mnemonic.Fdecstp, Mnemonic.Fnop,
        Mnemonic.Fcmovb, Mnemonic.Fcmove, Mnemonic.Fcmovbe, Mnemonic.Fcmovu, Mnemonic.Fcmovnb, Mnemonic.Fcmovne,
        Mnemonic.Fcmovnbe, Mnemonic.Fcmovnu,
    };

    public static readonly Code[] X87Forms = Enum.GetValues<Code>()
        .Where(c => c.ToOpCode() is var op && op.Encoding == EncodingKind.Legacy && op.Mode64 && X87.Contains(c.Mnemonic())
            && op.IsInstruction && Enumerable.Range(0, op.OpCount).All(i => op.GetOpKind(i) is OpCodeOperandKind.st0
                or OpCodeOperandKind.sti_opcode or OpCodeOperandKind.mem))
        .ToArray();

    /// <summary>MMX forms (operands include an MM register) of the integer SIMD mnemonics; they share the x87 state.</summary>
    public static readonly Code[] MmxForms = Enum.GetValues<Code>()
        .Where(c => c.ToOpCode() is var op && op.Encoding == EncodingKind.Legacy && op.Mode64 && op.IsInstruction
            && c.CpuidFeatures().All(f => Advertised.Contains(f) || f == CpuidFeature.MMX)
            && Enumerable.Range(0, op.OpCount).Any(i => op.GetOpKind(i) is OpCodeOperandKind.mm_reg or OpCodeOperandKind.mm_rm or OpCodeOperandKind.mm_or_mem)
            && Enumerable.Range(0, op.OpCount).All(i => op.GetOpKind(i) is OpCodeOperandKind.mm_reg or OpCodeOperandKind.mm_rm
                or OpCodeOperandKind.mm_or_mem or OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r64_or_mem or OpCodeOperandKind.r32_reg
                or OpCodeOperandKind.r64_reg or OpCodeOperandKind.imm8 or OpCodeOperandKind.mem or OpCodeOperandKind.r32_or_mem_mpx
                or OpCodeOperandKind.xmm_reg or OpCodeOperandKind.xmm_rm or OpCodeOperandKind.xmm_or_mem)
            && c.Mnemonic() != Mnemonic.Maskmovq) // stores through RDI, which the harness owns

        .ToArray();

    /// <summary>The forms, computed once: legacy encoding, valid in 64-bit mode, operands we can synthesize.</summary>
    public static readonly Code[] All = Enum.GetValues<Code>()
        .Where(c => c.ToOpCode() is var op && op.Encoding == EncodingKind.Legacy && op.Mode64 && Mnemonics.Contains(c.Mnemonic())
            && op.IsInstruction && !UndefinedResult.Contains(c) && c.CpuidFeatures().All(f => Advertised.Contains(f)) && Enumerable.Range(0, op.OpCount).All(i => Supported(op.GetOpKind(i))))
        .ToArray();

    private static bool Supported(OpCodeOperandKind k) => k switch
    {
        OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r64_or_mem
        or OpCodeOperandKind.r8_reg or OpCodeOperandKind.r16_reg or OpCodeOperandKind.r32_reg or OpCodeOperandKind.r64_reg
        or OpCodeOperandKind.r8_opcode or OpCodeOperandKind.r16_opcode or OpCodeOperandKind.r32_opcode or OpCodeOperandKind.r64_opcode
        or OpCodeOperandKind.imm8 or OpCodeOperandKind.imm16 or OpCodeOperandKind.imm32 or OpCodeOperandKind.imm64
        or OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32 or OpCodeOperandKind.imm8sex64 or OpCodeOperandKind.imm32sex64
        or OpCodeOperandKind.imm8_const_1 or OpCodeOperandKind.al or OpCodeOperandKind.ax or OpCodeOperandKind.eax
        or OpCodeOperandKind.rax or OpCodeOperandKind.cl or OpCodeOperandKind.mem
        or OpCodeOperandKind.xmm_reg or OpCodeOperandKind.xmm_rm or OpCodeOperandKind.xmm_or_mem => true,
        _ => false,
    };

    // GPRs the harness lets the instruction use: not RSP (stack), RBP (memory base), RDI (harness block).
    private static readonly int[] UsableGprs = { 0, 1, 2, 3, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

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
                    if (rng.Next(3) == 0) SetMem(ref ins, i, rng, false);
                    else Reg(ref ins, i, GprOf(SizeOf(k), rng));
                    break;
                case OpCodeOperandKind.mem:
                    SetMem(ref ins, i, rng, true); break;
                case OpCodeOperandKind.st0: Reg(ref ins, i, Register.ST0); break;
                case OpCodeOperandKind.mm_reg: case OpCodeOperandKind.mm_rm: Reg(ref ins, i, Register.MM0 + rng.Next(8)); break;
                case OpCodeOperandKind.mm_or_mem:
                    if (rng.Next(3) == 0) SetMem(ref ins, i, rng, true); else Reg(ref ins, i, Register.MM0 + rng.Next(8));
                    break;
                case OpCodeOperandKind.r32_or_mem_mpx: Reg(ref ins, i, GprOf(4, rng)); break;
                case OpCodeOperandKind.sti_opcode: Reg(ref ins, i, Register.ST0 + rng.Next(8)); break;
                case OpCodeOperandKind.xmm_or_mem when rng.Next(3) == 0:
                    SetMem(ref ins, i, rng, true); break;
                case OpCodeOperandKind.xmm_or_mem: case OpCodeOperandKind.xmm_reg: case OpCodeOperandKind.xmm_rm:
                    Reg(ref ins, i, Register.XMM0 + rng.Next(8)); break;
                case OpCodeOperandKind.r8_reg: case OpCodeOperandKind.r8_opcode: Reg(ref ins, i, GprOf(1, rng)); break;
                case OpCodeOperandKind.r16_reg: case OpCodeOperandKind.r16_opcode: Reg(ref ins, i, GprOf(2, rng)); break;
                case OpCodeOperandKind.r32_reg: case OpCodeOperandKind.r32_opcode: Reg(ref ins, i, GprOf(4, rng)); break;
                case OpCodeOperandKind.r64_reg: case OpCodeOperandKind.r64_opcode: Reg(ref ins, i, GprOf(8, rng)); break;
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

    private static void SetMem(ref Instruction ins, int i, Random rng, bool aligned16)
    {
        ins.SetOpKind(i, OpKind.Memory);
        ins.MemoryBase = Register.RBP;
        // Within 256 bytes; integer accesses sometimes misaligned, SSE ones 16-aligned (the host would #GP).
        ins.MemoryDisplacement64 = aligned16 ? (ulong)(rng.Next(0, 14) * 16) : (ulong)(rng.Next(0, 28) * 8 + rng.Next(0, 2));
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

    private static readonly ulong[] FloatEdges =
    {
        0, 0x8000000000000000, 0x3FF0000000000000, 0xBFF0000000000000, 0x3FF8000000000000, 0x7FF0000000000000,
        0xFFF0000000000000, 0x7FF8000000000000, 0x7FF4000000000000, 0x0000000000000001, 0x7FEFFFFFFFFFFFFF,
        0x41E0000000000000, 0xC1E0000000000000, 0x43E0000000000000, 0xC3E0000000000000, 0x400C000000000000,
        0x3F8000003F800000, 0x7FC000007F800000, 0xFF80000080000000, 0x4F0000004EFFFFFF, 0x00000001BF800000,
    };

    /// <summary>An XMM value: random bits, doubles/floats at the edges (NaNs, infinities, zeros, 2^31, 2^63...), or
    /// floats/doubles whose exponents sit where results overflow, underflow or turn denormal.</summary>
    public static UInt128 Xmm(Random rng)
    {
        ulong Half() => rng.Next(3) switch
        {
            0 => FloatEdges[rng.Next(FloatEdges.Length)],
            1 => (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 33),
            _ => rng.Next(2) == 0 ? Binary64(rng) : Binary32(rng) | ((ulong)Binary32(rng) << 32),
        };
        return new UInt128(Half(), Half());
    }

    /// <summary>A binary32 value with an exponent at the edges of the range (denormal, smallest normals, around 1,
    /// largest finite, infinity/NaN) and a random or short fraction (short ones make exact results likely).</summary>
    public static uint Binary32(Random rng)
        => (uint)EdgeFloat(rng, 23, 8);

    public static ulong Binary64(Random rng) => EdgeFloat(rng, 52, 11);

    private static ulong EdgeFloat(Random rng, int fracBits, int expBits)
    {
        int max = (1 << expBits) - 1, bias = max >> 1;
        int exp = rng.Next(8) switch
        {
            0 => 0,
            1 => rng.Next(1, 4),
            2 => rng.Next(1, fracBits + 4),           // results of products/quotients land in the denormal range
            3 => rng.Next(bias - fracBits - 2, bias + fracBits + 2),
            4 => rng.Next(max - 4, max),
            5 => max,
            6 => rng.Next(bias - 4, bias + 4),
            _ => rng.Next(max + 1),
        };
        ulong frac = rng.Next(3) switch
        {
            0 => (ulong)rng.NextInt64() & ((1UL << fracBits) - 1),
            1 => ((ulong)(uint)rng.Next(16) << (fracBits - 4)) | (uint)rng.Next(2),
            _ => (1UL << fracBits) - 1 - (ulong)rng.Next(3),
        };
        return ((ulong)rng.Next(2) << (fracBits + expBits)) | ((ulong)exp << fracBits) | frac;
    }

    /// <summary>An MXCSR with every exception masked (the in-process oracle has no #XM handler): sticky flags, RC,
    /// FTZ and DAZ at random; half the time the default.</summary>
    public static uint MaskedMxcsr(Random rng)
        => rng.Next(2) == 0 ? 0x1F80u : 0x1F80u | (uint)rng.Next(64) | ((uint)rng.Next(4) << 13) | (rng.Next(3) == 0 ? 0x8000u : 0u) | (rng.Next(3) == 0 ? 0x40u : 0u);

    public static ulong Edge(Random rng) => rng.Next(3) == 0 ? (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 40) : Edges[rng.Next(Edges.Length)];
}
