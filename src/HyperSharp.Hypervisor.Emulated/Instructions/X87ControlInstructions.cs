using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>The x87 control instructions (FNINIT FLDCW FNSTCW FNSTSW FNCLEX FWAIT EMMS), FXSAVE/FXRSTOR and the x87
/// environment (FNSTENV FLDENV FNSAVE FRSTOR): their translation and execution; the x87 group's translation entry point.</summary>
internal static unsafe class X87ControlInstructions
{
    /// <summary>#NM when CR0.TS (or EM) is set; FWAIT only with MP and TS (SDM 2.5 table).</summary>
    private static void CheckFpu(X86Cpu c, bool wait = false)
    {
        if (wait ? (c.Arch.Cr0 & (ControlRegisters.Cr0MP | ControlRegisters.Cr0TS)) == (ControlRegisters.Cr0MP | ControlRegisters.Cr0TS) : (c.Arch.Cr0 & (ControlRegisters.Cr0EM | ControlRegisters.Cr0TS)) != 0) throw c.Fault(Vec.NM);
    }

    /// <summary>Cond: 0 FNINIT, 1 FLDCW, 2 FNSTCW, 3 FNSTSW m16, 4 FNSTSW AX, 5 FNCLEX, 6 FWAIT, 7 EMMS.</summary>
    internal static int FpuControl(X86Cpu c, ref DecodedInstruction d)
    {
        CheckFpu(c, d.Cond == 6);
        var f = c._x87.Regs;
        switch (d.Cond)
        {
            case 0: f.Fcw = 0x037F; f.Fsw = 0; f.Ftw = 0xFFFF; f.Fop = 0; f.Fip = 0; f.Fdp = 0; break;
            case 1: f.Fcw = (ushort)(c.Load<ushort>(c.Lin(ref d)) | 0x40); break;
            case 2: c.Store(c.Lin(ref d), f.Fcw); break;
            case 3: c.Store(c.Lin(ref d), f.Fsw); break;
            case 4: S16.SetReg(c, 0, 0, f.Fsw); break;
            case 5: f.Fsw &= 0x7F00; break;
            case 7: f.Ftw = 0xFFFF; break;
        }
        return 0;
    }

    /// <summary>FXSAVE (Cond 0) / FXRSTOR (1) of the 512-byte image (64-bit layout: FIP/FDP as 64-bit fields).</summary>
    internal static int FxSave(X86Cpu c, ref DecodedInstruction d)
    {
        if ((c.Arch.Cr0 & (ControlRegisters.Cr0EM | ControlRegisters.Cr0TS)) != 0) throw c.Fault((c.Arch.Cr0 & ControlRegisters.Cr0EM) != 0 ? Vec.UD : Vec.NM);
        ulong p = c.Lin(ref d);
        if ((p & 15) != 0) throw c.Fault(Vec.GP, 0);
        Span<byte> img = stackalloc byte[512];
        if (d.Cond == 0)
        {
            c.PtrForWrite(p, 1); c.PtrForWrite(p + 511, 1); // both pages writable before the first byte changes
            FxSaveTo(c, img);
            for (int i = 0; i < 512; i += 8) c.Store(p + (ulong)i, BitConverter.ToUInt64(img[i..]));
            return 0;
        }
        for (int i = 0; i < 512; i += 8) BitConverter.TryWriteBytes(img[i..], c.Load<ulong>(p + (ulong)i));
        if ((BitConverter.ToUInt32(img[24..]) & ~SseRegisters.MxcsrMask) != 0) throw c.Fault(Vec.GP, 0);
        FxRestoreFrom(c, img);
        return 0;
    }

    // FNSTENV/FLDENV (28-byte 32-bit format), FNSAVE/FRSTOR (108 bytes)

    /// <summary>FNSTENV (Cond 0), FLDENV (1), FNSAVE (2), FRSTOR (3).</summary>
    internal static int FpuEnv(X86Cpu c, ref DecodedInstruction d)
    {
        if ((c.Arch.Cr0 & (ControlRegisters.Cr0EM | ControlRegisters.Cr0TS)) != 0) throw c.Fault(Vec.NM);
        ulong p = c.Lin(ref d);
        var f = c._x87.Regs;
        if (d.Cond is 0 or 2)
        {
            c.PtrForWrite(p, 1); c.PtrForWrite(p + (d.Cond == 2 ? 107UL : 27UL), 1); // fault before any change
            c.Store(p, (uint)f.Fcw | 0xFFFF0000); c.Store(p + 4, (uint)f.Fsw | 0xFFFF0000); c.Store(p + 8, (uint)f.Ftw | 0xFFFF0000);
            c.Store(p + 12, (uint)f.Fip); c.Store(p + 16, (uint)f.Fop & 0x7FF); c.Store(p + 20, (uint)f.Fdp); c.Store(p + 24, 0xFFFF0000u);
            if (d.Cond == 2)
            {
                for (int i = 0; i < 8; i++)
                {
                    var v = X87Stack.ToF80(f.St[(c._x87.Top + i) & 7]);
                    c.Store(p + 28 + (ulong)i * 10, v.Mant); c.Store(p + 36 + (ulong)i * 10, v.SignExp);
                }
                f.Fcw = 0x037F; f.Fsw = 0; f.Ftw = 0xFFFF; f.Fip = 0; f.Fdp = 0; f.Fop = 0; // FNSAVE then initializes
            }
            else f.Fcw |= 0x3F; // FNSTENV masks all exceptions afterwards
            return 0;
        }
        ushort fcw = c.Load<ushort>(p), fsw = c.Load<ushort>(p + 4), ftw = c.Load<ushort>(p + 8);
        var regs = new UInt128[8];
        if (d.Cond == 3)
            for (int i = 0; i < 8; i++) regs[i] = ((UInt128)c.Load<ushort>(p + 36 + (ulong)i * 10) << 64) | c.Load<ulong>(p + 28 + (ulong)i * 10);
        f.Fcw = fcw; f.Fsw = fsw; f.Ftw = ftw;
        f.Fip = c.Load<uint>(p + 12); f.Fdp = c.Load<uint>(p + 20);
        if (d.Cond == 3) for (int i = 0; i < 8; i++) f.St[(c._x87.Top + i) & 7] = regs[i];
        return 0;
    }

    internal static Flow Translate(in Instruction ins, ref DecodedInstruction d)
    {
        d.Cond = ins.Mnemonic switch
        {
            Mnemonic.Fninit => 0, Mnemonic.Fldcw => 1, Mnemonic.Fnstcw => 2,
            Mnemonic.Fnstsw => (byte)(ins.Op0Kind == OpKind.Memory ? 3 : 4),
            Mnemonic.Fnclex => 5, Mnemonic.Wait => 6, Mnemonic.Emms => 7, _ => 255,
        };
        if (d.Cond == 255) return X87ArithInstructions.Translate(in ins, ref d);
        d.Exec = &FpuControl;
        return Flow.Continue;
    }

    /// <summary>The FXSAVE image of the current state: the x87 registers (<see cref="X87Stack.SaveFx"/>), MXCSR and its
    /// mask, XMM0-15.</summary>
    internal static void FxSaveTo(X86Cpu c, Span<byte> img)
    {
        img.Clear();
        c._x87.SaveFx(img);
        BitConverter.TryWriteBytes(img[24..], c.Sse.Mxcsr);
        BitConverter.TryWriteBytes(img[28..], SseRegisters.MxcsrMask);
        for (int i = 0; i < 16; i++)
            System.Runtime.InteropServices.MemoryMarshal.Write(img[(160 + i * 16)..], in c.Sse.Xmm(i));
    }

    /// <summary>Loads an FXSAVE image (the caller validated MXCSR).</summary>
    internal static void FxRestoreFrom(X86Cpu c, ReadOnlySpan<byte> img)
    {
        c._x87.RestoreFx(img);
        c.Sse.Mxcsr = BitConverter.ToUInt32(img[24..]);
        for (int i = 0; i < 16; i++) c.Sse.Xmm(i) = System.Runtime.InteropServices.MemoryMarshal.Read<System.Runtime.Intrinsics.Vector128<byte>>(img[(160 + i * 16)..]);
    }
}
