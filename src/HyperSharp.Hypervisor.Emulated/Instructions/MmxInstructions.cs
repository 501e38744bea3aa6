using System.Runtime.Intrinsics;
using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;
using V = System.Runtime.Intrinsics.Vector128<byte>;
using unsafe SseFn = delegate*<System.Runtime.Intrinsics.Vector128<byte>, System.Runtime.Intrinsics.Vector128<byte>, byte, System.Runtime.Intrinsics.Vector128<byte>>;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>The MMX instructions (and the MMX-SSE conversions): their translation and execution.</summary>
internal static unsafe class MmxInstructions
{
    // MM0-7 are the low 64 bits of the physical x87 registers R0-R7. Every MMX instruction (but
    // EMMS) sets TOP = 0 and all tags valid; a write also sets the register's exponent field to all ones.
    // Operations reuse the SSE element functions on (value, 0) vectors; Cond bit 0 = "high" unpack
    // (inputs pre-shifted by 32 bits), bit 1 = pack (both operands in one vector).

    private static ulong Mm(X86Cpu c, int i) => (ulong)c._x87.Regs.St[i];

    private static void SetMm(X86Cpu c, int i, ulong v)
    {
        c._x87.Regs.St[i] = ((UInt128)0xFFFF << 64) | v;
    }

    /// <summary>#UD with CR0.EM, #NM with CR0.TS, #MF for a pending x87 exception; then enter MMX state.</summary>
    private static void EnterMmx(X86Cpu c)
    {
        if ((c.Arch.Cr0 & ControlRegisters.Cr0EM) != 0) throw c.Fault(Vec.UD);
        if ((c.Arch.Cr0 & ControlRegisters.Cr0TS) != 0) throw c.Fault(Vec.NM);
        if ((c._x87.Regs.Fsw & 0x80) != 0 && (c.Arch.Cr0 & ControlRegisters.Cr0NE) != 0) throw c.Fault(Vec.MF);
        c._x87.Regs.Fsw = (ushort)(c._x87.Regs.Fsw & ~0x3800);
        c._x87.Regs.Ftw = 0;
    }

    private static ulong MmSource(X86Cpu c, ref DecodedInstruction d) => X86Cpu.IsMem(ref d) ? c.Load<ulong>(c.Lin(ref d)) : Mm(c, d.Rm);

    internal static int MmxBinary(X86Cpu c, ref DecodedInstruction d)
    {
        ulong b = MmSource(c, ref d);
        EnterMmx(c);
        ulong a = Mm(c, d.Reg);
        var fn = (SseFn)(nint)d.Imm2;
        V r;
        if ((d.Cond & 4) != 0)
        {
            // 64-bit horizontal op = the 128-bit one on (a, b) as one operand, low half.
            r = fn(Vector128.Create(a, b).AsByte(), V.Zero, (byte)d.Imm);
        }
        else if ((d.Cond & 2) != 0) r = fn(Vector128.Create(a, b).AsByte(), V.Zero, (byte)d.Imm);
        else if ((d.Cond & 1) != 0) r = fn(Vector128.CreateScalar(a >> 32).AsByte(), Vector128.CreateScalar(b >> 32).AsByte(), (byte)d.Imm);
        else r = fn(Vector128.CreateScalar(a).AsByte(), Vector128.CreateScalar(b).AsByte(), (byte)d.Imm);
        SetMm(c, d.Reg, r.AsUInt64()[0]);
        return 0;
    }

    internal static int MmxShiftImm(X86Cpu c, ref DecodedInstruction d)
    {
        EnterMmx(c);
        if ((byte)d.Imm == 0) { SetMm(c, d.Reg, Mm(c, d.Reg)); return 0; }
        var fn = (SseFn)(nint)d.Imm2;
        SetMm(c, d.Reg, fn(Vector128.CreateScalar(Mm(c, d.Reg)).AsByte(), V.Zero, (byte)d.Imm).AsUInt64()[0]);
        return 0;
    }

    /// <summary>MOVD/MOVQ into MMx (Cond 0: from r/m32, 1: from r/m64 or mm/m64).</summary>
    internal static int MovToMm(X86Cpu c, ref DecodedInstruction d)
    {
        ulong v = d.Imm2 == 1 ? MmSource(c, ref d) : d.Cond == 0 ? c.ReadOp1<S32>(ref d) : c.ReadOp1<S64>(ref d);
        EnterMmx(c);
        SetMm(c, d.Reg, v);
        return 0;
    }

    /// <summary>MOVD/MOVQ/MOVNTQ from MMx (Cond 0: to r/m32, 1: to r/m64 or m64).</summary>
    internal static int MovFromMm(X86Cpu c, ref DecodedInstruction d)
    {
        if ((c.Arch.Cr0 & ControlRegisters.Cr0EM) != 0) throw c.Fault(Vec.UD);
        if ((c.Arch.Cr0 & ControlRegisters.Cr0TS) != 0) throw c.Fault(Vec.NM);
        ulong v = Mm(c, d.Rm);
        if (d.Imm2 == 1 && !X86Cpu.IsMem(ref d)) { EnterMmx(c); SetMm(c, d.Reg, v); return 0; } // movq mm, mm (store form)
        if (d.Cond == 0) c.WriteOp0<S32>(ref d, v); else c.WriteOp0<S64>(ref d, v);
        EnterMmx(c);
        return 0;
    }

    /// <summary>PMOVMSKB r, mm (Cond 0) / PEXTRW r, mm, imm (1) / PINSRW mm, r/m16, imm (2).</summary>
    internal static int MmxGpr(X86Cpu c, ref DecodedInstruction d)
    {
        if (d.Cond == 2)
        {
            ushort w = (ushort)c.ReadOp1<S16>(ref d);
            EnterMmx(c);
            int k = (int)(d.Imm & 3) * 16;
            SetMm(c, d.Reg, (Mm(c, d.Reg) & ~(0xFFFFUL << k)) | ((ulong)w << k));
            return 0;
        }
        EnterMmx(c);
        ulong v = Mm(c, d.Rm);
        c.R(d.Reg) = d.Cond == 0 ? Vector128.CreateScalar(v).AsByte().ExtractMostSignificantBits() & 0xFF : (v >> ((int)(d.Imm & 3) * 16)) & 0xFFFF;
        return 0;
    }

    /// <summary>PSHUFB on 64 bits: indexes use 3 bits.</summary>
    private static V MmxShufB(V a, V b, byte i)
    {
        ulong x = a.AsUInt64()[0], y = b.AsUInt64()[0], r = 0;
        for (int k = 0; k < 8; k++)
        {
            byte sel = (byte)(y >> (k * 8));
            if ((sel & 0x80) == 0) r |= ((x >> ((sel & 7) * 8)) & 0xFF) << (k * 8);
        }
        return Vector128.CreateScalar(r).AsByte();
    }

    /// <summary>PALIGNR on 64 bits: (a:b) >> imm*8, low 8 bytes.</summary>
    private static V MmxAlignR(V a, V b, byte i)
    {
        UInt128 w = ((UInt128)a.AsUInt64()[0] << 64) | b.AsUInt64()[0];
        ulong r = i >= 16 ? 0 : (ulong)(w >> (i * 8));
        return Vector128.CreateScalar(r).AsByte();
    }

    /// <summary>MMX/SSE conversions and moves (Cond): 0 CVTPI2PS, 1 CVTPI2PD, 2 CVTPS2PI, 3 CVTTPS2PI,
    /// 4 CVTPD2PI, 5 CVTTPD2PI, 6 MOVDQ2Q, 7 MOVQ2DQ. Register MM sources/destinations enter MMX state.</summary>
    internal static int MmxSseConvert(X86Cpu c, ref DecodedInstruction d)
    {
        c.CheckSse();
        bool mem = X86Cpu.IsMem(ref d);
        switch (d.Cond)
        {
            case 0:
            case 1:
            {
                ulong src = mem ? c.Load<ulong>(c.Lin(ref d)) : Mm(c, d.Rm);
                if (!mem) EnterMmx(c);
                var fmt = d.Cond == 0 ? SoftFloat.Binary32 : SoftFloat.Binary64;
                var st = new FpStatus(c.Sse.Mxcsr);
                ulong lo = SoftFloatConversions.FromInteger((int)src, fmt, ref st), hi = SoftFloatConversions.FromInteger((int)(src >> 32), fmt, ref st);
                c.CommitSimdExceptions(st);
                ref V x = ref c.Sse.Xmm(d.Reg);
                x = d.Cond == 0 ? x.AsUInt64().WithElement(0, (uint)lo | (hi << 32)).AsByte() : Vector128.Create(lo, hi).AsByte();
                return 0;
            }
            case 2:
            case 3:
            case 4:
            case 5:
            {
                V s = mem ? (d.Cond >= 4 ? c.Load128(ref d, true) : Vector128.CreateScalar(c.Load<ulong>(c.Lin(ref d))).AsByte()) : c.Sse.Xmm(d.Rm);
                EnterMmx(c);
                bool trunc = d.Cond is 3 or 5;
                var st = new FpStatus(c.Sse.Mxcsr);
                long a = d.Cond >= 4 ? SoftFloatConversions.ToInteger(s.AsUInt64()[0], SoftFloat.Binary64, 32, trunc, ref st) : SoftFloatConversions.ToInteger(s.AsUInt32()[0], SoftFloat.Binary32, 32, trunc, ref st);
                long b = d.Cond >= 4 ? SoftFloatConversions.ToInteger(s.AsUInt64()[1], SoftFloat.Binary64, 32, trunc, ref st) : SoftFloatConversions.ToInteger(s.AsUInt32()[1], SoftFloat.Binary32, 32, trunc, ref st);
                c.CommitSimdExceptions(st);
                SetMm(c, d.Reg, (uint)a | ((ulong)(uint)b << 32));
                return 0;
            }
            case 6:
                EnterMmx(c);
                SetMm(c, d.Reg, c.Sse.Xmm(d.Rm).AsUInt64()[0]);
                return 0;
            default:
                EnterMmx(c);
                c.Sse.Xmm(d.Reg) = Vector128.CreateScalar(Mm(c, d.Rm)).AsByte();
                return 0;
        }
    }

    /// <summary>MASKMOVQ (Imm2 = 8) / MASKMOVDQU (16): store the bytes of the first register whose mask byte
    /// (second register) has its top bit set, to DS:rDI (address size in AddrMask).</summary>
    internal static int MaskMov(X86Cpu c, ref DecodedInstruction d)
    {
        int n = (int)d.Imm2;
        V data, mask;
        if (n == 8) { EnterMmx(c); data = Vector128.CreateScalar(Mm(c, d.Reg)).AsByte(); mask = Vector128.CreateScalar(Mm(c, d.Rm)).AsByte(); }
        else { c.CheckSse(); data = c.Sse.Xmm(d.Reg); mask = c.Sse.Xmm(d.Rm); }
        ulong lin = c.Lin(d.Seg, c.R(7) & d.AddrMask);
        for (int k = 0; k < n; k++) if ((mask[k] & 0x80) != 0) c.PtrForWrite(lin + (ulong)k, 1); // fault before any byte is written
        for (int k = 0; k < n; k++) if ((mask[k] & 0x80) != 0) c.Store(lin + (ulong)k, data[k]);
        return 0;
    }

    internal static Flow Translate(in Instruction ins, ref DecodedInstruction d)
    {
        bool mm0 = ins.Op0Kind == OpKind.Register && ins.Op0Register.IsMM();
        bool mm1 = ins.OpCount > 1 && ins.Op1Kind == OpKind.Register && ins.Op1Register.IsMM();
        if (!mm0 && !mm1) return Flow.Unsupported;
        byte conv = ins.Mnemonic switch
        {
            Mnemonic.Cvtpi2ps => 0, Mnemonic.Cvtpi2pd => 1, Mnemonic.Cvtps2pi => 2, Mnemonic.Cvttps2pi => 3,
            Mnemonic.Cvtpd2pi => 4, Mnemonic.Cvttpd2pi => 5, Mnemonic.Movdq2q => 6, Mnemonic.Movq2dq => 7, _ => 255,
        };
        if (conv != 255)
        {
            d.Cond = conv;
            if (ins.Op0Register.IsXMM()) d.Reg = (byte)(ins.Op0Register - Register.XMM0);
            if (ins.Op1Kind == OpKind.Register && ins.Op1Register.IsXMM()) d.Rm = (byte)(ins.Op1Register - Register.XMM0);
            d.Exec = &MmxSseConvert; return Flow.Continue;
        }
        if (ins.Mnemonic == Mnemonic.Maskmovq)
        {
            d.Imm2 = 8; d.Seg = (byte)(ins.MemorySegment - Register.ES);
            d.AddrMask = ins.Op0Kind == OpKind.MemorySegRDI ? ulong.MaxValue : ins.Op0Kind == OpKind.MemorySegEDI ? 0xFFFFFFFF : d.AddrMask;
            d.Reg = (byte)(ins.Op1Register - Register.MM0); d.Rm = (byte)(ins.Op2Register - Register.MM0);
            d.Exec = &MaskMov; return Flow.Continue;
        }
        switch (ins.Mnemonic)
        {
            case Mnemonic.Movd: case Mnemonic.Movq: case Mnemonic.Movntq:
                if (mm0)
                {
                    // From mm (Imm2 = 1), or from a 32/64-bit GPR or memory (Cond = 0/1 by size).
                    d.Imm2 = mm1 ? 1UL : 0UL;
                    d.Cond = (byte)(ins.Mnemonic == Mnemonic.Movd ? 0 : 1);
                    d.Exec = &MovToMm; return Flow.Continue;
                }
                d.Imm2 = ins.Op0Kind == OpKind.Register && ins.Op0Register.IsMM() ? 1UL : 0UL;
                d.Cond = (byte)(ins.Mnemonic == Mnemonic.Movd ? 0 : 1);
                d.Exec = &MovFromMm; return Flow.Continue;
            case Mnemonic.Pmovmskb: d.Cond = 0; d.Exec = &MmxGpr; return Flow.Continue;
            case Mnemonic.Pextrw: d.Cond = 1; d.Exec = &MmxGpr; return Flow.Continue;
            case Mnemonic.Pinsrw: d.Cond = 2; d.Exec = &MmxGpr; return Flow.Continue;
        }
        if (ins.OpCount == 2 && ins.Op1Kind == OpKind.Immediate8)
        {
            SseFn sh = ins.Mnemonic switch
            {
                Mnemonic.Psllw => &SseOps.SllW, Mnemonic.Psrlw => &SseOps.SrlW, Mnemonic.Psraw => &SseOps.SraW,
                Mnemonic.Pslld => &SseOps.SllD, Mnemonic.Psrld => &SseOps.SrlD, Mnemonic.Psrad => &SseOps.SraD,
                Mnemonic.Psllq => &SseOps.SllQ, Mnemonic.Psrlq => &SseOps.SrlQ, _ => null,
            };
            if (sh == null) return Flow.Unsupported;
            d.Imm2 = (ulong)(nint)sh; d.Exec = &MmxShiftImm; return Flow.Continue;
        }
        d.Cond = 0;
        SseFn f = ins.Mnemonic switch
        {
            Mnemonic.Pxor => &SseOps.Xor, Mnemonic.Por => &SseOps.Or, Mnemonic.Pand => &SseOps.And, Mnemonic.Pandn => &SseOps.AndNot,
            Mnemonic.Paddb => &SseOps.AddB, Mnemonic.Paddw => &SseOps.AddW, Mnemonic.Paddd => &SseOps.AddD, Mnemonic.Paddq => &SseOps.AddQ,
            Mnemonic.Psubb => &SseOps.SubB, Mnemonic.Psubw => &SseOps.SubW, Mnemonic.Psubd => &SseOps.SubD, Mnemonic.Psubq => &SseOps.SubQ,
            Mnemonic.Paddusb => &SseOps.AddUsB, Mnemonic.Psubusb => &SseOps.SubUsB, Mnemonic.Paddusw => &SseOps.AddUsW, Mnemonic.Psubusw => &SseOps.SubUsW,
            Mnemonic.Paddsb => &SseOps.AddSsB, Mnemonic.Psubsb => &SseOps.SubSsB, Mnemonic.Paddsw => &SseOps.AddSsW, Mnemonic.Psubsw => &SseOps.SubSsW,
            Mnemonic.Pmullw => &SseOps.MulLoW, Mnemonic.Pmulhw => &SseOps.MulHiW, Mnemonic.Pmulhuw => &SseOps.MulHiUW,
            Mnemonic.Pmaddwd => &SseOps.MaddWD, Mnemonic.Pmuludq => &SseOps.MulUdq,
            Mnemonic.Pminub => &SseOps.MinUB, Mnemonic.Pmaxub => &SseOps.MaxUB, Mnemonic.Pminsw => &SseOps.MinSW, Mnemonic.Pmaxsw => &SseOps.MaxSW,
            Mnemonic.Pavgb => &SseOps.AvgB, Mnemonic.Pavgw => &SseOps.AvgW, Mnemonic.Psadbw => &SseOps.SadBW,
            Mnemonic.Pcmpeqb => &SseOps.CmpEqB, Mnemonic.Pcmpeqw => &SseOps.CmpEqW, Mnemonic.Pcmpeqd => &SseOps.CmpEqD,
            Mnemonic.Pcmpgtb => &SseOps.CmpGtB, Mnemonic.Pcmpgtw => &SseOps.CmpGtW, Mnemonic.Pcmpgtd => &SseOps.CmpGtD,
            Mnemonic.Punpcklbw => &SseOps.UnpackLoB, Mnemonic.Punpcklwd => &SseOps.UnpackLoW, Mnemonic.Punpckldq => &SseOps.UnpackLoD,
            Mnemonic.Punpckhbw => &SseOps.UnpackLoB, Mnemonic.Punpckhwd => &SseOps.UnpackLoW, Mnemonic.Punpckhdq => &SseOps.UnpackLoD,
            Mnemonic.Packsswb => &SseOps.PackSsWB, Mnemonic.Packssdw => &SseOps.PackSsDW, Mnemonic.Packuswb => &SseOps.PackUsWB,
            Mnemonic.Pshufw => &SseOps.ShufLW,
            Mnemonic.Pmaddubsw => &SseOps.MaddUbsW, Mnemonic.Pmulhrsw => &SseOps.MulHrsW,
            Mnemonic.Psignb => &SseOps.SignB, Mnemonic.Psignw => &SseOps.SignW, Mnemonic.Psignd => &SseOps.SignD,
            Mnemonic.Pabsb => &SseOps.AbsB, Mnemonic.Pabsw => &SseOps.AbsW, Mnemonic.Pabsd => &SseOps.AbsD,
            Mnemonic.Pshufb => &MmxShufB, Mnemonic.Palignr => &MmxAlignR,
            Mnemonic.Phaddw => &SseOps.HAddW, Mnemonic.Phaddd => &SseOps.HAddD, Mnemonic.Phaddsw => &SseOps.HAddSW,
            Mnemonic.Phsubw => &SseOps.HSubW, Mnemonic.Phsubd => &SseOps.HSubD, Mnemonic.Phsubsw => &SseOps.HSubSW,
            Mnemonic.Psllw => &SseOps.SllW, Mnemonic.Psrlw => &SseOps.SrlW, Mnemonic.Psraw => &SseOps.SraW,
            Mnemonic.Pslld => &SseOps.SllD, Mnemonic.Psrld => &SseOps.SrlD, Mnemonic.Psrad => &SseOps.SraD,
            Mnemonic.Psllq => &SseOps.SllQ, Mnemonic.Psrlq => &SseOps.SrlQ,
            _ => null,
        };
        if (f == null) return Flow.Unsupported;
        if (ins.Mnemonic is Mnemonic.Punpckhbw or Mnemonic.Punpckhwd or Mnemonic.Punpckhdq) d.Cond = 1;
        if (ins.Mnemonic is Mnemonic.Packsswb or Mnemonic.Packssdw or Mnemonic.Packuswb) d.Cond = 2;
        if (ins.Mnemonic is Mnemonic.Phaddw or Mnemonic.Phaddd or Mnemonic.Phaddsw or Mnemonic.Phsubw or Mnemonic.Phsubd or Mnemonic.Phsubsw)
            d.Cond = 4; // horizontal: a's pairs then b's pairs within 64 bits
        d.Imm2 = (ulong)(nint)f;
        d.Exec = &MmxBinary;
        return Flow.Continue;
    }
}
