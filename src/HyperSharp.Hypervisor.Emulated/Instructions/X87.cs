using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

public sealed unsafe partial class X86Cpu
{
    // ---- x87 control (FNINIT FLDCW FNSTCW FNSTSW FNCLEX FWAIT EMMS) and FXSAVE/FXRSTOR ----

    /// <summary>#NM when CR0.TS (or EM) is set; FWAIT only with MP and TS (SDM 2.5 table).</summary>
    private void CheckFpu(bool wait = false)
    {
        if (wait ? (Arch.Cr0 & (Cr0MP | Cr0TS)) == (Cr0MP | Cr0TS) : (Arch.Cr0 & (Cr0EM | Cr0TS)) != 0) throw Fault(Vec.NM);
    }

    /// <summary>Cond: 0 FNINIT, 1 FLDCW, 2 FNSTCW, 3 FNSTSW m16, 4 FNSTSW AX, 5 FNCLEX, 6 FWAIT, 7 EMMS.</summary>
    internal static int FpuControl(X86Cpu c, ref DecodedInstruction d)
    {
        c.CheckFpu(d.Cond == 6);
        var f = c.Arch.Fpu;
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
        if ((c.Arch.Cr0 & (Cr0EM | Cr0TS)) != 0) throw c.Fault((c.Arch.Cr0 & Cr0EM) != 0 ? Vec.UD : Vec.NM);
        ulong p = c.Lin(ref d);
        if ((p & 15) != 0) throw c.Fault(Vec.GP, 0);
        Span<byte> img = stackalloc byte[512];
        if (d.Cond == 0)
        {
            c.PtrForWrite(p, 1); c.PtrForWrite(p + 511, 1); // both pages writable before the first byte changes
            c.FxSaveTo(img);
            for (int i = 0; i < 512; i += 8) c.Store(p + (ulong)i, BitConverter.ToUInt64(img[i..]));
            return 0;
        }
        for (int i = 0; i < 512; i += 8) BitConverter.TryWriteBytes(img[i..], c.Load<ulong>(p + (ulong)i));
        if ((BitConverter.ToUInt32(img[24..]) & ~MxcsrMask) != 0) throw c.Fault(Vec.GP, 0);
        c.FxRestoreFrom(img);
        return 0;
    }

    /// <summary>The FXSAVE image of the current state: registers in stack order (ST0 first), abridged tags per physical register.</summary>
    internal void FxSaveTo(Span<byte> img)
    {
        img.Clear();
        var f = Arch.Fpu;
        byte abridged = 0;
        for (int i = 0; i < 8; i++) if (((f.Ftw >> (i * 2)) & 3) != 3) abridged |= (byte)(1 << i);
        BitConverter.TryWriteBytes(img, f.Fcw);
        BitConverter.TryWriteBytes(img[2..], f.Fsw);
        img[4] = abridged;
        BitConverter.TryWriteBytes(img[6..], f.Fop);
        BitConverter.TryWriteBytes(img[8..], f.Fip);
        BitConverter.TryWriteBytes(img[16..], f.Fdp);
        BitConverter.TryWriteBytes(img[24..], Arch.Mxcsr);
        BitConverter.TryWriteBytes(img[28..], MxcsrMask);
        int top = (f.Fsw >> 11) & 7;
        for (int i = 0; i < 8; i++)
        {
            UInt128 v = f.St[(top + i) & 7];
            BitConverter.TryWriteBytes(img[(32 + i * 16)..], (ulong)v);
            BitConverter.TryWriteBytes(img[(40 + i * 16)..], (ushort)(v >> 64));
        }
        for (int i = 0; i < 16; i++)
            System.Runtime.InteropServices.MemoryMarshal.Write(img[(160 + i * 16)..], in Xmm(i));
    }

    /// <summary>Loads an FXSAVE image (the caller validated MXCSR).</summary>
    internal void FxRestoreFrom(ReadOnlySpan<byte> img)
    {
        var f = Arch.Fpu;
        f.Fcw = BitConverter.ToUInt16(img);
        f.Fsw = BitConverter.ToUInt16(img[2..]);
        byte ab = img[4];
        ushort ftw = 0;
        for (int i = 0; i < 8; i++) ftw |= (ushort)((((ab >> i) & 1) != 0 ? 0 : 3) << (i * 2));
        f.Ftw = ftw;
        f.Fop = BitConverter.ToUInt16(img[6..]);
        f.Fip = BitConverter.ToUInt64(img[8..]);
        f.Fdp = BitConverter.ToUInt64(img[16..]);
        Arch.Mxcsr = BitConverter.ToUInt32(img[24..]);
        int top = (f.Fsw >> 11) & 7;
        for (int i = 0; i < 8; i++)
        {
            ulong mant = BitConverter.ToUInt64(img[(32 + i * 16)..]);
            ushort se = BitConverter.ToUInt16(img[(40 + i * 16)..]);
            f.St[(top + i) & 7] = ((UInt128)se << 64) | mant;
        }
        for (int i = 0; i < 16; i++) Xmm(i) = System.Runtime.InteropServices.MemoryMarshal.Read<System.Runtime.Intrinsics.Vector128<byte>>(img[(160 + i * 16)..]);
        // Tags of non-empty registers are recomputed from their contents, as the hardware does.
        for (int i = 0; i < 8; i++) if (!IsEmpty(i)) SetTag(i, ToF80(f.St[i]));
    }

    private static Flow TranslateX87(in Instruction ins, ref DecodedInstruction d)
    {
        d.Cond = ins.Mnemonic switch
        {
            Mnemonic.Fninit => 0, Mnemonic.Fldcw => 1, Mnemonic.Fnstcw => 2,
            Mnemonic.Fnstsw => (byte)(ins.Op0Kind == OpKind.Memory ? 3 : 4),
            Mnemonic.Fnclex => 5, Mnemonic.Wait => 6, Mnemonic.Emms => 7, _ => 255,
        };
        if (d.Cond == 255) return TranslateX87Arith(in ins, ref d);
        d.Exec = &FpuControl;
        return Flow.Continue;
    }
}
