using System.Runtime.Intrinsics;
using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;
using V = System.Runtime.Intrinsics.Vector128<byte>;
using unsafe SseFn = delegate*<System.Runtime.Intrinsics.Vector128<byte>, System.Runtime.Intrinsics.Vector128<byte>, byte, System.Runtime.Intrinsics.Vector128<byte>>;
using unsafe SseFloatFn = delegate*<System.Runtime.Intrinsics.Vector128<byte>, System.Runtime.Intrinsics.Vector128<byte>, byte,
    ref HyperSharp.Hypervisor.Emulated.Execution.FpStatus, System.Runtime.Intrinsics.Vector128<byte>>;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>The SSE/SSE2/SSE3/SSSE3 instructions: their translation and execution. Its translation is also the entry point
/// of the MMX and x87 groups: instructions on MM registers go to <see cref="MmxInstructions"/>, the rest that is not SSE to
/// the x87 group.</summary>
internal static unsafe class SseInstructions
{
    // "xmm = op(xmm, xmm/mem, imm)" through one handler; the operation's function pointer sits in Imm2.
    // OpSize is the memory operand's size (16, 8 or 4: scalar loads zero-fill the rest).

    private static V SseSource(X86Cpu c, ref DecodedInstruction d)
    {
        if (!X86Cpu.IsMem(ref d)) return c.Sse.Xmm(d.Rm);
        return d.OpSize switch
        {
            16 => c.Load128(ref d, (d.Flags & InstrFlags.Aligned) != 0),
            8 => Vector128.CreateScalar(c.Load<ulong>(c.Lin(ref d))).AsByte(),
            4 => Vector128.CreateScalar(c.Load<uint>(c.Lin(ref d))).AsByte(),
            _ => Vector128.CreateScalar(c.Load<ushort>(c.Lin(ref d))).AsByte(),
        };
    }

    internal static int SseBinary(X86Cpu c, ref DecodedInstruction d)
    {
        c.CheckSse();
        V b = SseSource(c, ref d);
        c.Sse.Xmm(d.Reg) = ((SseFn)(nint)d.Imm2)(c.Sse.Xmm(d.Reg), b, (byte)d.Imm);
        return 0;
    }

    /// <summary>The floating-point form of <see cref="SseBinary"/>: the operation runs under MXCSR and its exceptions
    /// are committed (flags, or #XM with the destination unchanged) before the result is written.</summary>
    internal static int SseFloatBinary(X86Cpu c, ref DecodedInstruction d)
    {
        c.CheckSse();
        V b = SseSource(c, ref d);
        var st = new FpStatus(c.Sse.Mxcsr);
        V r = ((SseFloatFn)(nint)d.Imm2)(c.Sse.Xmm(d.Reg), b, (byte)d.Imm, ref st);
        c.CommitSimdExceptions(st);
        c.Sse.Xmm(d.Reg) = r;
        return 0;
    }

    /// <summary>Shift of xmm by an immediate (PSRLDQ xmm, imm8 and friends): the source is not an operand.</summary>
    internal static int SseShiftImm(X86Cpu c, ref DecodedInstruction d)
    {
        c.CheckSse();
        if ((byte)d.Imm == 0) return 0; // count 0: unchanged (the op treats imm 0 as "count from b")
        c.Sse.Xmm(d.Reg) = ((SseFn)(nint)d.Imm2)(c.Sse.Xmm(d.Reg), V.Zero, (byte)d.Imm);
        return 0;
    }

    /// <summary>Stores of the low OpSize bytes (or the high qword when Cond = 1) of xmm Rm to memory.</summary>
    internal static int SseStore(X86Cpu c, ref DecodedInstruction d)
    {
        c.CheckSse();
        V v = c.Sse.Xmm(d.Rm);
        switch (d.OpSize)
        {
            case 16: c.Store128(ref d, v, (d.Flags & InstrFlags.Aligned) != 0); break;
            case 8: c.Store(c.Lin(ref d), v.AsUInt64()[d.Cond]); break;
            default: c.Store(c.Lin(ref d), v.AsUInt32()[0]); break;
        }
        return 0;
    }

    /// <summary>MOVD/MOVQ xmm, r/m32/64 (zero-extended into the register).</summary>
    internal static int MovdToXmm(X86Cpu c, ref DecodedInstruction d)
    {
        c.CheckSse();
        ulong v = d.OpSize == 8 ? c.ReadOp1<S64>(ref d) : c.ReadOp1<S32>(ref d);
        c.Sse.Xmm(d.Reg) = Vector128.CreateScalar(v).AsByte();
        return 0;
    }

    /// <summary>MOVD/MOVQ r/m32/64, xmm.</summary>
    internal static int MovdFromXmm(X86Cpu c, ref DecodedInstruction d)
    {
        c.CheckSse();
        ulong v = c.Sse.Xmm(d.Rm).AsUInt64()[0];
        if (d.OpSize == 8) c.WriteOp0<S64>(ref d, v); else c.WriteOp0<S32>(ref d, v);
        return 0;
    }

    /// <summary>PMOVMSKB (Cond 0), MOVMSKPS (1), MOVMSKPD (2), PEXTRW (3) into a GPR.</summary>
    internal static int SseToGpr(X86Cpu c, ref DecodedInstruction d)
    {
        c.CheckSse();
        V v = c.Sse.Xmm(d.Rm);
        c.R(d.Reg) = d.Cond switch
        {
            0 => v.ExtractMostSignificantBits(),
            1 => v.AsUInt32().ExtractMostSignificantBits(),
            2 => v.AsUInt64().ExtractMostSignificantBits(),
            _ => v.AsUInt16()[(int)(d.Imm & 7)],
        };
        return 0;
    }

    internal static int Pinsrw(X86Cpu c, ref DecodedInstruction d)
    {
        c.CheckSse();
        ushort w = (ushort)c.ReadOp1<S16>(ref d);
        c.Sse.Xmm(d.Reg) = c.Sse.Xmm(d.Reg).AsUInt16().WithElement((int)(d.Imm & 7), w).AsByte();
        return 0;
    }

    /// <summary>CVTSI2SS/SD (Cond 0 = single, 1 = double) from r/m32/64 (OpSize = integer size).</summary>
    internal static int CvtIntToFp(X86Cpu c, ref DecodedInstruction d)
    {
        c.CheckSse();
        long v = d.OpSize == 8 ? (long)c.ReadOp1<S64>(ref d) : (int)c.ReadOp1<S32>(ref d);
        var st = new FpStatus(c.Sse.Mxcsr);
        ulong r = SoftFloatConversions.FromInteger(v, d.Cond == 0 ? SoftFloat.Binary32 : SoftFloat.Binary64, ref st);
        c.CommitSimdExceptions(st);
        ref V x = ref c.Sse.Xmm(d.Reg);
        x = d.Cond == 0 ? x.AsUInt32().WithElement(0, (uint)r).AsByte() : x.AsUInt64().WithElement(0, r).AsByte();
        return 0;
    }

    /// <summary>CVT(T)SS2SI / CVT(T)SD2SI: Cond bit 0 = double source, bit 1 = truncate (else round by MXCSR.RC).</summary>
    internal static int CvtFpToInt(X86Cpu c, ref DecodedInstruction d)
    {
        c.CheckSse();
        V s = X86Cpu.IsMem(ref d) ? Vector128.CreateScalar(c.Load<ulong>(c.Lin(ref d))).AsByte() : c.Sse.Xmm(d.Rm);
        var st = new FpStatus(c.Sse.Mxcsr);
        long v = (d.Cond & 1) != 0 ? SoftFloatConversions.ToInteger(s.AsUInt64()[0], SoftFloat.Binary64, d.OpSize * 8, (d.Cond & 2) != 0, ref st)
            : SoftFloatConversions.ToInteger(s.AsUInt32()[0], SoftFloat.Binary32, d.OpSize * 8, (d.Cond & 2) != 0, ref st);
        c.CommitSimdExceptions(st);
        c.R(d.Reg) = d.OpSize == 8 ? (ulong)v : (uint)v;
        return 0;
    }

    /// <summary>(U)COMISS/(U)COMISD (Cond bit 0 = double, bit 1 = UCOMIS: only an SNaN is invalid):
    /// ZF PF CF = 111 unordered, 000 greater, 001 less, 100 equal; OF SF AF = 0.</summary>
    internal static int Comis(X86Cpu c, ref DecodedInstruction d)
    {
        c.CheckSse();
        V b = SseSource(c, ref d);
        var st = new FpStatus(c.Sse.Mxcsr);
        bool signalling = (d.Cond & 2) == 0;
        int order = (d.Cond & 1) != 0
            ? SoftFloatArithmetic.Compare(c.Sse.Xmm(d.Reg).AsUInt64()[0], b.AsUInt64()[0], signalling, SoftFloat.Binary64, ref st)
            : SoftFloatArithmetic.Compare(c.Sse.Xmm(d.Reg).AsUInt32()[0], b.AsUInt32()[0], signalling, SoftFloat.Binary32, ref st);
        c.CommitSimdExceptions(st);
        c.Flags.SetStatus(order switch { 2 => Rf.ZF | Rf.PF | Rf.CF, 1 => 0, -1 => Rf.CF, _ => Rf.ZF });
        return 0;
    }

    /// <summary>LDMXCSR (Cond 0) / STMXCSR (1).</summary>
    internal static int Mxcsr(X86Cpu c, ref DecodedInstruction d)
    {
        c.CheckSse();
        ulong lin = c.Lin(ref d);
        if (d.Cond == 1) { c.Store(lin, c.Sse.Mxcsr); return 0; }
        uint v = c.Load<uint>(lin);
        if ((v & ~SseRegisters.MxcsrMask) != 0) throw c.Fault(Vec.GP, 0);
        c.Sse.Mxcsr = v;
        return 0;
    }

    private static Flow Sse(ref DecodedInstruction d, SseFn op, bool aligned = false)
    {
        d.Imm2 = (ulong)(nint)op;
        if (aligned) d.Flags |= InstrFlags.Aligned;
        d.Exec = &SseBinary;
        return Flow.Continue;
    }

    private static Flow SseFloat(ref DecodedInstruction d, SseFloatFn op, bool aligned)
    {
        d.Imm2 = (ulong)(nint)op;
        if (aligned) d.Flags |= InstrFlags.Aligned;
        d.Exec = &SseFloatBinary;
        return Flow.Continue;
    }

    internal static Flow Translate(in Instruction ins, int bitness, ref DecodedInstruction d)
    {
        if (ins.Mnemonic is Mnemonic.Cvtpi2ps or Mnemonic.Cvtpi2pd && ins.Op1Kind == OpKind.Memory)
        {
            d.Reg = (byte)(ins.Op0Register - Register.XMM0);
            d.Cond = (byte)(ins.Mnemonic == Mnemonic.Cvtpi2ps ? 0 : 1);
            d.Exec = &MmxInstructions.MmxSseConvert; return Flow.Continue;
        }
        if ((ins.OpCount > 0 && ins.Op0Kind == OpKind.Register && ins.Op0Register.IsMM())
            || (ins.OpCount > 1 && ins.Op1Kind == OpKind.Register && ins.Op1Register.IsMM()))
        {
            d.Reg = ins.Op0Kind == OpKind.Register && ins.Op0Register.IsMM() ? (byte)(ins.Op0Register - Register.MM0) : d.Reg;
            d.Rm = ins.OpCount > 1 && ins.Op1Kind == OpKind.Register && ins.Op1Register.IsMM() ? (byte)(ins.Op1Register - Register.MM0) : d.Rm;
            return MmxInstructions.Translate(in ins, ref d);
        }
        bool mem0 = ins.Op0Kind == OpKind.Memory, mem1 = ins.OpCount > 1 && ins.Op1Kind == OpKind.Memory;
        if (mem0 || mem1) d.OpSize = (byte)ins.MemorySize.GetSize();
        else d.OpSize = 16;
        bool full = d.OpSize == 16; // 128-bit memory operands of legacy SSE ops must be aligned
        switch (ins.Mnemonic)
        {
            case Mnemonic.Movdqa: case Mnemonic.Movaps: case Mnemonic.Movapd:
            case Mnemonic.Movdqu: case Mnemonic.Movups: case Mnemonic.Movupd: case Mnemonic.Lddqu:
            case Mnemonic.Movntdq: case Mnemonic.Movntps: case Mnemonic.Movntpd:
            {
                bool aligned = ins.Mnemonic is Mnemonic.Movdqa or Mnemonic.Movaps or Mnemonic.Movapd
                    or Mnemonic.Movntdq or Mnemonic.Movntps or Mnemonic.Movntpd;
                if (mem0) { if (aligned) d.Flags |= InstrFlags.Aligned; d.Exec = &SseStore; return Flow.Continue; }
                return Sse(ref d, &SseOps.Copy, aligned);
            }
            case Mnemonic.Movq when ins.Op0Register.IsXMM() && !ins.Op1Register.IsGPR():
                d.OpSize = mem1 ? (byte)8 : (byte)16;
                if (!mem1) return Sse(ref d, &MovqRegOp);
                return Sse(ref d, &SseOps.Copy);
            case Mnemonic.Movq when mem0 && ins.Op1Register.IsXMM():
                d.OpSize = 8; d.Cond = 0; d.Exec = &SseStore; return Flow.Continue;
            case Mnemonic.Movd: case Mnemonic.Movq:
                if (ins.Op0Register.IsMM() || ins.Op1Register.IsMM()) return Flow.Unsupported; // MMX forms: not yet
                if (ins.Op0Kind == OpKind.Register && ins.Op0Register.IsXMM())
                {
                    d.OpSize = (byte)(ins.Mnemonic == Mnemonic.Movq ? 8 : 4);
                    d.Exec = &MovdToXmm; return Flow.Continue;
                }
                d.OpSize = (byte)(ins.Mnemonic == Mnemonic.Movq ? 8 : 4);
                d.Exec = &MovdFromXmm; return Flow.Continue;
            case Mnemonic.Movss: case Mnemonic.Movsd:
            {
                bool single = ins.Mnemonic == Mnemonic.Movss;
                if (mem0) { d.OpSize = (byte)(single ? 4 : 8); d.Cond = 0; d.Exec = &SseStore; return Flow.Continue; }
                if (mem1) return Sse(ref d, &SseOps.Copy); // scalar load zero-fills
                return single ? Sse(ref d, &SseOps.MovSSReg) : Sse(ref d, &SseOps.MovSDReg);
            }
            case Mnemonic.Movlps: case Mnemonic.Movlpd:
                if (mem0) { d.OpSize = 8; d.Cond = 0; d.Exec = &SseStore; return Flow.Continue; }
                return Sse(ref d, &SseOps.MovLowQ);
            case Mnemonic.Movhps: case Mnemonic.Movhpd:
                if (mem0) { d.OpSize = 8; d.Cond = 1; d.Exec = &SseStore; return Flow.Continue; }
                return Sse(ref d, &SseOps.MovHighQ);
            case Mnemonic.Movlhps: return Sse(ref d, &SseOps.MovHighQ);
            case Mnemonic.Movhlps: return Sse(ref d, &SseOps.MovHL);
            case Mnemonic.Pmovmskb: d.Cond = 0; d.Exec = &SseToGpr; return ins.Op1Register.IsXMM() ? Flow.Continue : Flow.Unsupported;
            case Mnemonic.Movmskps: d.Cond = 1; d.Exec = &SseToGpr; return Flow.Continue;
            case Mnemonic.Movmskpd: d.Cond = 2; d.Exec = &SseToGpr; return Flow.Continue;
            case Mnemonic.Pextrw when ins.Op1Register.IsXMM() && ins.Op0Kind == OpKind.Register:
                d.Cond = 3; d.Exec = &SseToGpr; return Flow.Continue;
            case Mnemonic.Pinsrw when ins.Op0Register.IsXMM(): d.Exec = &Pinsrw; return Flow.Continue;
            case Mnemonic.Cvtsi2ss: case Mnemonic.Cvtsi2sd:
                d.Cond = (byte)(ins.Mnemonic == Mnemonic.Cvtsi2sd ? 1 : 0);
                d.OpSize = (byte)(mem1 ? ins.MemorySize.GetSize() : ins.Op1Register.GetSize());
                d.Exec = &CvtIntToFp; return Flow.Continue;
            case Mnemonic.Cvtss2si: case Mnemonic.Cvtsd2si: case Mnemonic.Cvttss2si: case Mnemonic.Cvttsd2si:
                d.Cond = (byte)((ins.Mnemonic is Mnemonic.Cvtsd2si or Mnemonic.Cvttsd2si ? 1 : 0) | (ins.Mnemonic is Mnemonic.Cvttss2si or Mnemonic.Cvttsd2si ? 2 : 0));
                d.OpSize = (byte)ins.Op0Register.GetSize();
                d.Exec = &CvtFpToInt; return Flow.Continue;
            case Mnemonic.Comiss: d.Cond = 0; d.Exec = &Comis; return Flow.Continue;
            case Mnemonic.Comisd: d.Cond = 1; d.Exec = &Comis; return Flow.Continue;
            case Mnemonic.Ucomiss: d.Cond = 2; d.Exec = &Comis; return Flow.Continue;
            case Mnemonic.Ucomisd: d.Cond = 3; d.Exec = &Comis; return Flow.Continue;
            case Mnemonic.Movnti:
                // MOVNTI m32/64, r: an ordinary store here (there is no cache to bypass)
                d.OpSize = (byte)ins.Op1Register.GetSize(); d.Imm = 0;
                d.Exec = d.OpSize == 8 ? &MoveInstructions.MovM<S64> : &MoveInstructions.MovM<S32>; return Flow.Continue;
            case Mnemonic.Maskmovdqu:
                d.Imm2 = 16; d.Seg = (byte)(ins.MemorySegment - Register.ES);
                d.AddrMask = ins.Op0Kind == OpKind.MemorySegRDI ? ulong.MaxValue : ins.Op0Kind == OpKind.MemorySegEDI ? 0xFFFFFFFF : 0xFFFF;
                d.Reg = (byte)(ins.Op1Register - Register.XMM0); d.Rm = (byte)(ins.Op2Register - Register.XMM0);
                d.Exec = &MmxInstructions.MaskMov; return Flow.Continue;
            case Mnemonic.Ldmxcsr: d.Cond = 0; d.Exec = &Mxcsr; return Flow.Continue;
            case Mnemonic.Stmxcsr: d.Cond = 1; d.Exec = &Mxcsr; return Flow.Continue;
            case Mnemonic.Fxsave: case Mnemonic.Fxsave64: d.Cond = 0; d.Exec = &X87ControlInstructions.FxSave; return Flow.Continue;
            case Mnemonic.Fxrstor: case Mnemonic.Fxrstor64: d.Cond = 1; d.Exec = &X87ControlInstructions.FxSave; return Flow.Continue;
        }
        if (ins.OpCount > 0 && ins.Op0Kind == OpKind.Register && ins.Op0Register.IsMM()) return X87ControlInstructions.Translate(in ins, ref d);
        if (ins.OpCount < 2 || !ins.Op0Register.IsXMM()) return X87ControlInstructions.Translate(in ins, ref d);
        // Shifts by immediate: "op xmm, imm8".
        if (ins.Op1Kind == OpKind.Immediate8)
        {
            SseFn sh = ins.Mnemonic switch
            {
                Mnemonic.Psllw => &SseOps.SllW, Mnemonic.Psrlw => &SseOps.SrlW, Mnemonic.Psraw => &SseOps.SraW,
                Mnemonic.Pslld => &SseOps.SllD, Mnemonic.Psrld => &SseOps.SrlD, Mnemonic.Psrad => &SseOps.SraD,
                Mnemonic.Psllq => &SseOps.SllQ, Mnemonic.Psrlq => &SseOps.SrlQ,
                Mnemonic.Pslldq => &SseOps.SllDq, Mnemonic.Psrldq => &SseOps.SrlDq, _ => null,
            };
            if (sh == null) return Flow.Unsupported;
            d.Imm2 = (ulong)(nint)sh; d.Exec = &SseShiftImm; return Flow.Continue;
        }
        SseFn f = ins.Mnemonic switch
        {
            Mnemonic.Pxor or Mnemonic.Xorps or Mnemonic.Xorpd => &SseOps.Xor,
            Mnemonic.Por or Mnemonic.Orps or Mnemonic.Orpd => &SseOps.Or,
            Mnemonic.Pand or Mnemonic.Andps or Mnemonic.Andpd => &SseOps.And,
            Mnemonic.Pandn or Mnemonic.Andnps or Mnemonic.Andnpd => &SseOps.AndNot,
            Mnemonic.Paddb => &SseOps.AddB, Mnemonic.Paddw => &SseOps.AddW, Mnemonic.Paddd => &SseOps.AddD, Mnemonic.Paddq => &SseOps.AddQ,
            Mnemonic.Psubb => &SseOps.SubB, Mnemonic.Psubw => &SseOps.SubW, Mnemonic.Psubd => &SseOps.SubD, Mnemonic.Psubq => &SseOps.SubQ,
            Mnemonic.Paddusb => &SseOps.AddUsB, Mnemonic.Psubusb => &SseOps.SubUsB, Mnemonic.Paddusw => &SseOps.AddUsW, Mnemonic.Psubusw => &SseOps.SubUsW,
            Mnemonic.Pmullw => &SseOps.MulLoW, Mnemonic.Pmuludq => &SseOps.MulUdq,
            Mnemonic.Pminub => &SseOps.MinUB, Mnemonic.Pmaxub => &SseOps.MaxUB, Mnemonic.Pminsw => &SseOps.MinSW, Mnemonic.Pmaxsw => &SseOps.MaxSW,
            Mnemonic.Pavgb => &SseOps.AvgB, Mnemonic.Psadbw => &SseOps.SadBW, Mnemonic.Pavgw => &SseOps.AvgW,
            Mnemonic.Paddsb => &SseOps.AddSsB, Mnemonic.Psubsb => &SseOps.SubSsB, Mnemonic.Paddsw => &SseOps.AddSsW, Mnemonic.Psubsw => &SseOps.SubSsW,
            Mnemonic.Pmulhw => &SseOps.MulHiW, Mnemonic.Pmulhuw => &SseOps.MulHiUW, Mnemonic.Pmaddwd => &SseOps.MaddWD,
            Mnemonic.Movddup => &SseOps.MovDDup, Mnemonic.Movshdup => &SseOps.MovSHDup, Mnemonic.Movsldup => &SseOps.MovSLDup,
            Mnemonic.Pshufb => &SseOps.ShufB, Mnemonic.Phaddw => &SseOps.HAddW, Mnemonic.Phaddd => &SseOps.HAddD, Mnemonic.Phaddsw => &SseOps.HAddSW,
            Mnemonic.Phsubw => &SseOps.HSubW, Mnemonic.Phsubd => &SseOps.HSubD, Mnemonic.Phsubsw => &SseOps.HSubSW,
            Mnemonic.Pmaddubsw => &SseOps.MaddUbsW, Mnemonic.Pmulhrsw => &SseOps.MulHrsW,
            Mnemonic.Psignb => &SseOps.SignB, Mnemonic.Psignw => &SseOps.SignW, Mnemonic.Psignd => &SseOps.SignD,
            Mnemonic.Pabsb => &SseOps.AbsB, Mnemonic.Pabsw => &SseOps.AbsW, Mnemonic.Pabsd => &SseOps.AbsD,
            Mnemonic.Palignr => &SseOps.AlignR,
            Mnemonic.Pcmpeqb => &SseOps.CmpEqB, Mnemonic.Pcmpeqw => &SseOps.CmpEqW, Mnemonic.Pcmpeqd => &SseOps.CmpEqD,
            Mnemonic.Pcmpgtb => &SseOps.CmpGtB, Mnemonic.Pcmpgtw => &SseOps.CmpGtW, Mnemonic.Pcmpgtd => &SseOps.CmpGtD,
            Mnemonic.Punpcklbw => &SseOps.UnpackLoB, Mnemonic.Punpckhbw => &SseOps.UnpackHiB,
            Mnemonic.Punpcklwd => &SseOps.UnpackLoW, Mnemonic.Punpckhwd => &SseOps.UnpackHiW,
            Mnemonic.Punpckldq => &SseOps.UnpackLoD, Mnemonic.Punpckhdq => &SseOps.UnpackHiD,
            Mnemonic.Punpcklqdq or Mnemonic.Unpcklpd => &SseOps.UnpackLoQ, Mnemonic.Punpckhqdq or Mnemonic.Unpckhpd => &SseOps.UnpackHiQ,
            Mnemonic.Unpcklps => &SseOps.UnpackLoPS, Mnemonic.Unpckhps => &SseOps.UnpackHiPS,
            Mnemonic.Packuswb => &SseOps.PackUsWB, Mnemonic.Packsswb => &SseOps.PackSsWB, Mnemonic.Packssdw => &SseOps.PackSsDW,
            Mnemonic.Pshufd => &SseOps.ShufD, Mnemonic.Pshuflw => &SseOps.ShufLW, Mnemonic.Pshufhw => &SseOps.ShufHW,
            Mnemonic.Shufps => &SseOps.ShufPS, Mnemonic.Shufpd => &SseOps.ShufPD,
            Mnemonic.Psllw => &SseOps.SllW, Mnemonic.Psrlw => &SseOps.SrlW, Mnemonic.Psraw => &SseOps.SraW,
            Mnemonic.Pslld => &SseOps.SllD, Mnemonic.Psrld => &SseOps.SrlD, Mnemonic.Psrad => &SseOps.SraD,
            Mnemonic.Psllq => &SseOps.SllQ, Mnemonic.Psrlq => &SseOps.SrlQ,
            _ => null,
        };
        SseFloatFn fp = f != null ? null : ins.Mnemonic switch
        {
            Mnemonic.Addps => &SseFloatOps.AddPS, Mnemonic.Subps => &SseFloatOps.SubPS, Mnemonic.Mulps => &SseFloatOps.MulPS, Mnemonic.Divps => &SseFloatOps.DivPS,
            Mnemonic.Addpd => &SseFloatOps.AddPD, Mnemonic.Subpd => &SseFloatOps.SubPD, Mnemonic.Mulpd => &SseFloatOps.MulPD, Mnemonic.Divpd => &SseFloatOps.DivPD,
            Mnemonic.Addss => &SseFloatOps.AddSS, Mnemonic.Subss => &SseFloatOps.SubSS, Mnemonic.Mulss => &SseFloatOps.MulSS, Mnemonic.Divss => &SseFloatOps.DivSS,
            Mnemonic.Addsd => &SseFloatOps.AddSD, Mnemonic.Subsd => &SseFloatOps.SubSD, Mnemonic.Mulsd => &SseFloatOps.MulSD, Mnemonic.Divsd => &SseFloatOps.DivSD,
            Mnemonic.Sqrtss => &SseFloatOps.SqrtSS, Mnemonic.Sqrtsd => &SseFloatOps.SqrtSD, Mnemonic.Sqrtps => &SseFloatOps.SqrtPS, Mnemonic.Sqrtpd => &SseFloatOps.SqrtPD,
            Mnemonic.Minss => &SseFloatOps.MinSS, Mnemonic.Maxss => &SseFloatOps.MaxSS, Mnemonic.Minsd => &SseFloatOps.MinSD, Mnemonic.Maxsd => &SseFloatOps.MaxSD,
            Mnemonic.Minps => &SseFloatOps.MinPS, Mnemonic.Maxps => &SseFloatOps.MaxPS, Mnemonic.Minpd => &SseFloatOps.MinPD, Mnemonic.Maxpd => &SseFloatOps.MaxPD,
            Mnemonic.Addsubps => &SseFloatOps.AddSubPS, Mnemonic.Addsubpd => &SseFloatOps.AddSubPD, Mnemonic.Haddps => &SseFloatOps.HAddPS,
            Mnemonic.Haddpd => &SseFloatOps.HAddPD, Mnemonic.Hsubps => &SseFloatOps.HSubPS, Mnemonic.Hsubpd => &SseFloatOps.HSubPD,
            Mnemonic.Cvtss2sd => &SseFloatOps.CvtSS2SD, Mnemonic.Cvtsd2ss => &SseFloatOps.CvtSD2SS,
            Mnemonic.Cvtdq2pd => &SseFloatOps.CvtDQ2PD, Mnemonic.Cvtdq2ps => &SseFloatOps.CvtDQ2PS, Mnemonic.Cvtps2pd => &SseFloatOps.CvtPS2PD,
            Mnemonic.Cvtpd2ps => &SseFloatOps.CvtPD2PS, Mnemonic.Cvttps2dq => &SseFloatOps.CvttPS2DQ, Mnemonic.Cvttpd2dq => &SseFloatOps.CvttPD2DQ,
            Mnemonic.Cvtps2dq => &SseFloatOps.CvtPS2DQ, Mnemonic.Cvtpd2dq => &SseFloatOps.CvtPD2DQ,
            Mnemonic.Cmpss => &SseFloatOps.CmpSS, Mnemonic.Cmpsd => &SseFloatOps.CmpSD, Mnemonic.Cmpps => &SseFloatOps.CmpPS, Mnemonic.Cmppd => &SseFloatOps.CmpPD,
            _ => null,
        };
        if (f == null && fp == null) return Flow.Unsupported;
        if (ins.Op1Register.IsMM()) return Flow.Unsupported;
        bool scalar = ins.Mnemonic.ToString().EndsWith("ss") || ins.Mnemonic.ToString().EndsWith("sd") || ins.Mnemonic is Mnemonic.Cvtdq2pd or Mnemonic.Cvtps2pd
            or Mnemonic.Movddup;
        // SSE3/SSSE3 integer and horizontal forms also require 16-byte alignment (only LDDQU/MOVDDUP m64 do not).
        return fp != null ? SseFloat(ref d, fp, full && !scalar) : Sse(ref d, f, full && !scalar);
    }

    /// <summary>MOVQ xmm, xmm: the low qword, upper zeroed.</summary>
    private static V MovqRegOp(V a, V b, byte i) => Vector128.CreateScalar(b.AsUInt64()[0]).AsByte();
}
