using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using Decoder = Iced.Intel.Decoder;
using Encoder = Iced.Intel.Encoder;

namespace HyperSharp.Hypervisor.Emulated.Tests.Differential.Sequences;

/// <summary>
/// Random instruction sequences from a seed: every form of <see cref="InstructionForms"/> (integer, flags,
/// shifts/rotates, BT*, BSF/BSR, MUL/DIV, SSE..SSSE3, POPCNT), x87 and MMX, plus the forms that need set-up
/// (string instructions with REP, CMPXCHG8B/16B, BT with a register bit offset into memory, PUSH/POP, LEA,
/// XLAT, a Jcc over an instruction) and instructions that fault (#DE, #UD, #GP with error codes, #PF on
/// not-present and read-only pages, misaligned SSE). Operands are edge values; memory is the case's data page.
/// </summary>
internal static class SequenceGenerator
{
    private static readonly Code[] Integer = InstructionForms.All;
    /// <summary>x87 forms, without 80-bit loads: random data bytes would mostly be unsupported encodings (see the MMX note).</summary>
    private static readonly Code[] X87 = InstructionForms.X87Forms.Where(c => c != Code.Fld_m80fp).ToArray();
    private static readonly Code[] MmxForms = InstructionForms.MmxForms;
    /// <summary>Forms that leave RFLAGS alone, for the instruction a Jcc may skip.</summary>
    private static readonly Code[] FlagNeutral = Integer
        .Where(c => Decode(Encode(c)) is { } i && i.RflagsModified == RflagsBits.None && i.RflagsUndefined == RflagsBits.None
            // (a shift by an immediate decodes as flag-neutral when the sample count happens to be 0)
            && i.Mnemonic is not (Mnemonic.Div or Mnemonic.Idiv or Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Rcl or Mnemonic.Rcr
                or Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar or Mnemonic.Shld or Mnemonic.Shrd))
        .ToArray();

    private static Instruction? Decode(byte[]? bytes) => bytes is null ? null : Decoder.Create(64, new ByteArrayCodeReader(bytes)).Decode();

    private static byte[]? Encode(Code code) => InstructionForms.Instantiate(code, new Random((int)code)) is Instruction i ? Encode(i) : null;

    private static byte[]? Encode(in Instruction ins)
    {
        try
        {
            var w = new ByteCodeWriter();
            Encoder.Create(64, w).Encode(ins, 0);
            return w.ToArray();
        }
        catch (EncoderException) { return null; }
    }

    public static SequenceCase Generate(Random rng)
    {
        var c = new SequenceCase();
        for (int i = 0; i < 16; i++) c.Regs[i] = Values.Edge(rng);
        c.Flags = ((ulong)rng.Next() & FlagAnalysis.StatusFlags) | (rng.Next(4) == 0 ? 0x400UL : 0);
        var fx = X87Values.RandomFx(rng);
        BitConverter.TryWriteBytes(fx.AsSpan(24), RandomMxcsr(rng));
        for (int i = 0; i < 8; i++)
        {
            var x = Values.Xmm(rng);
            BitConverter.TryWriteBytes(fx.AsSpan(160 + i * 16), (ulong)x);
            BitConverter.TryWriteBytes(fx.AsSpan(168 + i * 16), (ulong)(x >> 64));
        }
        fx.CopyTo(c.Fx, 0);
        for (int i = 0; i < SequenceCase.DataSize; i += 8)
            BitConverter.TryWriteBytes(c.Data.AsSpan(i), rng.Next(3) switch { 0 => Values.Edge(rng), 1 => (ulong)Values.Xmm(rng), _ => (ulong)rng.NextInt64() });

        int units = 4 + rng.Next(13);
        ulong undefined = 0;
        for (int tries = 0; c.Parts.Count < units && tries < units * 8; tries++)
        {
            if (NextPart(rng) is not byte[] part) continue;
            // Keep the unit only if none of its instructions reads a flag left undefined before it.
            ulong u = undefined;
            var decoder = Decoder.Create(64, new ByteArrayCodeReader(part));
            bool ok = true;
            while (ok && decoder.IP < (ulong)part.Length) { var ins = decoder.Decode(); ok = FlagAnalysis.Step(ins, ref u); }
            if (!ok) continue;
            undefined = u;
            c.Parts.Add(part);
        }
        return c;
    }

    /// <summary>MXCSR: half the time the default; else random sticky flags, RC, FTZ and DAZ, with every exception
    /// masked or (one case in two of those) some unmasked, so SSE arithmetic raises #XM.</summary>
    private static uint RandomMxcsr(Random rng)
    {
        if (rng.Next(2) == 0) return 0x1F80;
        uint masks = rng.Next(2) == 0 ? 0x3Fu : (uint)rng.Next(64) | (uint)rng.Next(64);
        uint flags = rng.Next(2) == 0 ? 0 : (uint)rng.Next(64) & masks; // a flag set and unmasked faults nothing by itself
        return flags | (masks << 7) | ((uint)rng.Next(4) << 13) | (rng.Next(3) == 0 ? 0x8000u : 0u) | (rng.Next(3) == 0 ? 0x40u : 0u);
    }

    private static byte[]? NextPart(Random rng)
    {
        int roll = rng.Next(100);
        if (roll < 55) return FromForm(Integer[rng.Next(Integer.Length)], rng);
        if (roll < 65) return FromForm(X87[rng.Next(X87.Length)], rng);
        // MMX leaves the x87 registers holding unsupported encodings (exponent all ones, integer bit clear); code ends an
        // MMX block with EMMS before x87 use, and so do we. Known gap: which of an unsupported operand and a NaN or
        // denormal operand wins is not modelled exactly, so that mix (and FLD m80 of random bytes) is not generated.
        if (roll < 72) return Mmx(rng);
        if (roll < 80) return StringOp(rng);
        return rng.Next(9) switch
        {
            0 => Cmpxchg8Or16(rng),
            1 => BitStringInMemory(rng),
            2 => Stack(rng),
            3 => Group(a => a.lea(Gpr64(rng), __[rbp + Gpr64(rng) * (1 << rng.Next(4)) + rng.Next(-128, 128)])),
            4 => Group(a => { a.lea(rbx, __[rbp]); a.xlatb(); }),
            5 => JccOver(rng),
            6 => Group(a => { if (rng.Next(2) == 0) a.cld(); else a.std(); }),
            7 => DivisionWithSetup(rng),
            _ => Faulting(rng),
        };
    }

    /// <summary>An MMX form followed by EMMS when it entered MMX state. (CVTPI2PS/PD from memory do not enter it, and an
    /// EMMS after them would show that the AMD processors we record on also reset TOP in EMMS, which Intel, the model
    /// the emulator follows, does not document.)</summary>
    private static byte[]? Mmx(Random rng)
    {
        var code = MmxForms[rng.Next(MmxForms.Length)];
        if (InstructionForms.Instantiate(code, rng) is not Instruction i || Encode(i) is not byte[] bytes) return null;
        bool fromMemory = code is Code.Cvtpi2ps_xmm_mmm64 or Code.Cvtpi2pd_xmm_mmm64 && i.Op1Kind == OpKind.Memory;
        return fromMemory ? bytes : [.. bytes, 0x0F, 0x77];
    }

    private static byte[]? FromForm(Code code, Random rng)
    {
        if (code.Mnemonic() is Mnemonic.Div or Mnemonic.Idiv) return DivisionWithSetup(rng);
        return InstructionForms.Instantiate(code, rng) is Instruction i ? Encode(i) : null;
    }

    /// <summary>DIV/IDIV, usually after a widening instruction that makes the quotient fit (else it raises #DE).</summary>
    private static byte[]? DivisionWithSetup(Random rng)
    {
        var forms = Integer.Where(c => c.Mnemonic() is Mnemonic.Div or Mnemonic.Idiv).ToArray();
        var code = forms[rng.Next(forms.Length)];
        if (InstructionForms.Instantiate(code, rng) is not Instruction div || Encode(div) is not byte[] bytes) return null;
        if (rng.Next(4) == 0) return bytes;
        int size = div.Op0Kind == OpKind.Memory ? div.MemorySize.GetSize() : div.Op0Register.GetSize();
        bool signed = code.Mnemonic() == Mnemonic.Idiv;
        var setup = Group(a =>
        {
            switch (size, signed)
            {
                case (1, false): a.movzx(eax, al); break;
                case (1, true): a.cbw(); break;
                case (2, false): a.xor(edx, edx); break;
                case (2, true): a.cwd(); break;
                case (4, false): a.xor(edx, edx); break;
                case (4, true): a.cdq(); break;
                case (_, false): a.xor(edx, edx); break;
                default: a.cqo(); break;
            }
        });
        return [.. setup, .. bytes];
    }

    /// <summary>MOVS/STOS/LODS/CMPS/SCAS of every width, with REP/REPE/REPNE or none, RSI/RDI inside the data page and a small count.</summary>
    private static byte[]? StringOp(Random rng)
    {
        int width = 1 << rng.Next(4);
        int op = rng.Next(5);
        int rep = rng.Next(3); // 0 none, 1 REP/REPE, 2 REPNE (only meaningful for CMPS/SCAS)
        var setup = Group(a =>
        {
            a.lea(rsi, __[rbp + rng.Next(72, 120)]);
            a.lea(rdi, __[rbp + rng.Next(72, 120)]);
            a.mov(ecx, rng.Next(0, 9));
        });
        return [.. setup, .. Tail(op, width, rep)];
    }

    private static byte[] Tail(int op, int width, int rep)
    {
        byte prefix = rep switch { 1 => 0xF3, 2 => (byte)(op is 3 or 4 ? 0xF2 : 0xF3), _ => 0 };
        byte opcode = (op, width == 1) switch
        {
            (0, true) => 0xA4, (0, false) => 0xA5, (1, true) => 0xAA, (1, false) => 0xAB, (2, true) => 0xAC, (2, false) => 0xAD,
            (3, true) => 0xA6, (3, false) => 0xA7, (_, true) => 0xAE, _ => 0xAF,
        };
        var bytes = new List<byte>();
        if (width == 2) bytes.Add(0x66);
        if (prefix != 0) bytes.Add(prefix);
        if (width == 8) bytes.Add(0x48);
        bytes.Add(opcode);
        return bytes.ToArray();
    }

    /// <summary>CMPXCHG8B/16B on a data qword pair, half the time with RDX:RAX preloaded to match (the store path);
    /// a misaligned CMPXCHG16B operand raises #GP(0).</summary>
    private static byte[]? Cmpxchg8Or16(Random rng)
    {
        bool wide = rng.Next(2) == 0;
        int disp = rng.Next(0, 14) * 16 + (rng.Next(8) == 0 ? 8 : 0);
        return Group(a =>
        {
            if (rng.Next(2) == 0)
            {
                if (wide) { a.mov(rax, __qword_ptr[rbp + disp]); a.mov(rdx, __qword_ptr[rbp + disp + 8]); }
                else { a.mov(eax, __dword_ptr[rbp + disp]); a.mov(edx, __dword_ptr[rbp + disp + 4]); }
            }
            var x = rng.Next(4) == 0 ? a.@lock : a;
            if (wide) x.cmpxchg16b(__xmmword_ptr[rbp + disp]); else x.cmpxchg8b(__qword_ptr[rbp + disp]);
        });
    }

    /// <summary>BT/BTS/BTR/BTC with a register bit offset into memory: the offset selects a byte beyond the operand.</summary>
    private static byte[]? BitStringInMemory(Random rng)
    {
        int disp = rng.Next(8, 64);
        int bit = rng.Next((8 - disp) * 8, (SequenceCase.DataSize - 16 - disp) * 8); // the accessed unit stays in the page
        int n = rng.Next(8);
        var reg64 = new[] { rax, rcx, rdx, rbx, rsi, r8, r9, r10 }[n];
        var reg32 = new[] { eax, ecx, edx, ebx, esi, r8d, r9d, r10d }[n];
        bool wide = rng.Next(2) == 0;
        int op = rng.Next(4);
        return Group(a =>
        {
            a.mov(reg64, bit);
            if (wide)
            {
                var m = __qword_ptr[rbp + disp];
                switch (op) { case 0: a.bt(m, reg64); break; case 1: a.bts(m, reg64); break; case 2: a.btr(m, reg64); break; default: a.btc(m, reg64); break; }
            }
            else
            {
                // The 32-bit form takes the low half as a signed bit offset.
                var m = __dword_ptr[rbp + disp];
                switch (op) { case 0: a.bt(m, reg32); break; case 1: a.bts(m, reg32); break; case 2: a.btr(m, reg32); break; default: a.btc(m, reg32); break; }
            }
        });
    }

    private static byte[]? Stack(Random rng) => Group(a =>
    {
        switch (rng.Next(6))
        {
            case 0: a.push(Gpr64(rng)); break;
            case 1: a.push(__qword_ptr[rbp + rng.Next(0, 28) * 8]); break;
            case 2: a.push((int)Values.Edge(rng)); break;
            case 3: a.push(Gpr64(rng)); a.pop(Gpr64(rng)); break;
            case 4: a.push(Gpr64(rng)); a.pop(__qword_ptr[rbp + rng.Next(0, 28) * 8]); break;
            default: a.push(Gpr16(rng)); a.pop(Gpr16(rng)); break;
        }
    });

    /// <summary>A conditional jump over one flag-neutral instruction: both paths rejoin, and the flags analysis stays exact.</summary>
    private static byte[]? JccOver(Random rng)
    {
        if (FromForm(FlagNeutral[rng.Next(FlagNeutral.Length)], rng) is not byte[] skipped || skipped.Length > 100) return null;
        byte cc = (byte)rng.Next(16);
        return [(byte)(0x70 | cc), (byte)skipped.Length, .. skipped];
    }

    /// <summary>Instructions that raise an exception at CPL3, compared by vector, error code, RIP (and CR2).</summary>
    private static byte[]? Faulting(Random rng) => Group(a =>
    {
        switch (rng.Next(10))
        {
            case 0: a.ud2(); break;                                            // #UD
            // (INT3 and INT n are no test here: this host's KVM delivers them through DPL 0 gates or raises #UD, where the
            // SDM says #GP(vector*8+2); the emulator's ExceptionTests check the architectural behaviour.)
            case 1: a.mov(rax, __qword_ptr[(ulong)SequenceMachine.UnmappedPage + (ulong)rng.Next(0, 4096)]); break;
            case 2: a.mov(__qword_ptr[(ulong)SequenceMachine.UnmappedPage + (ulong)rng.Next(0, 4096)], rax); break; // #PF write, not present
            case 3: a.mov(rax, __qword_ptr[(ulong)SequenceMachine.UnmappedPage + (ulong)rng.Next(0, 4096)]); break; // #PF read, not present
            case 4: a.mov(__dword_ptr[(ulong)SequenceMachine.ReadOnlyPage + (ulong)rng.Next(0, 4096)], ecx); break;  // #PF write, protection
            case 5: a.mov(rbx, 0x8000_0000_0000_0000UL | (ulong)rng.NextInt64()); a.mov(rax, __qword_ptr[rbx]); break; // #GP(0) non-canonical
            case 6: a.movaps(xmm1, __xmmword_ptr[rbp + rng.Next(0, 14) * 16 + 4]); break;                         // #GP(0) misaligned
            case 7: a.hlt(); break;                                            // #GP(0) at CPL3
            case 8: a.mov(rax, cr0); break;                                    // #GP(0) at CPL3
            // (SYSCALL with EFER.SCE clear is no test: KVM on this host executes it anyway and jumps to LSTAR.)
            default: a.db(0xCE); break;                                        // INTO: #UD in 64-bit mode
        }
    });

    private static AssemblerRegister64 Gpr64(Random rng) => new[] { rax, rcx, rdx, rbx, rsi, r8, r9, r10, r11, r12, r13, r14, r15 }[rng.Next(13)];
    private static AssemblerRegister16 Gpr16(Random rng) => new[] { ax, cx, dx, bx, si, r8w, r9w, r10w, r11w, r12w, r13w, r14w, r15w }[rng.Next(13)];

    private static byte[] Group(Action<Assembler> body)
    {
        var a = new Assembler(64);
        body(a);
        var ms = new MemoryStream();
        a.Assemble(new StreamCodeWriter(ms), 0);
        return ms.ToArray();
    }
}
