using System.Runtime.Intrinsics;
using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

public sealed unsafe partial class X86Cpu
{
    // ---- x87 control (FNINIT FLDCW FNSTCW FNSTSW FNCLEX FWAIT EMMS) and FXSAVE/FXRSTOR ----
    // The x87 register stack is carried as state (FXSAVE/FXRSTOR move it) but arithmetic is not yet implemented.

    /// <summary>#NM when CR0.TS (or EM) is set; FWAIT only with MP and TS (SDM 2.5 table).</summary>
    private void CheckFpu(bool wait = false)
    {
        if (wait ? (_cr0 & (Cr0MP | Cr0TS)) == (Cr0MP | Cr0TS) : (_cr0 & (Cr0EM | Cr0TS)) != 0) throw Fault(Vec.NM);
    }

    /// <summary>Cond: 0 FNINIT, 1 FLDCW, 2 FNSTCW, 3 FNSTSW m16, 4 FNSTSW AX, 5 FNCLEX, 6 FWAIT, 7 EMMS.</summary>
    internal static int FpuControl(X86Cpu c, ref DecodedInstruction d)
    {
        c.CheckFpu(d.Cond == 6);
        var f = c._fpu;
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
        if ((c._cr0 & (Cr0EM | Cr0TS)) != 0) throw c.Fault((c._cr0 & Cr0EM) != 0 ? Vec.UD : Vec.NM);
        ulong p = c.Lin(ref d);
        if ((p & 15) != 0) throw c.Fault(Vec.GP, 0);
        var f = c._fpu;
        if (d.Cond == 0)
        {
            // Probe the whole area for write first so a fault leaves memory consistent-or-untouched per page.
            c.PtrForWrite(p, 1); c.PtrForWrite(p + 511, 1);
            byte abridged = 0;
            for (int i = 0; i < 8; i++) if (((f.Ftw >> (i * 2)) & 3) != 3) abridged |= (byte)(1 << i);
            c.Store(p, f.Fcw); c.Store(p + 2, f.Fsw); c.Store(p + 4, abridged); c.Store(p + 5, (byte)0);
            c.Store(p + 6, f.Fop); c.Store(p + 8, f.Fip); c.Store(p + 16, f.Fdp);
            c.Store(p + 24, c._mxcsr); c.Store(p + 28, MxcsrMask);
            for (int i = 0; i < 8; i++) c.Store(p + 32 + (ulong)i * 16, f.St[i]);
            for (int i = 0; i < 16; i++) c.Store(p + 160 + (ulong)i * 16, c.Xmm(i));
            return 0;
        }
        uint mx = c.Load<uint>(p + 24);
        if ((mx & ~MxcsrMask) != 0) throw c.Fault(Vec.GP, 0);
        var st = new UInt128[8];
        var xmm = new Vector128<byte>[16];
        for (int i = 0; i < 8; i++) st[i] = c.Load<UInt128>(p + 32 + (ulong)i * 16);
        for (int i = 0; i < 16; i++) xmm[i] = c.Load<Vector128<byte>>(p + 160 + (ulong)i * 16);
        byte ab = c.Load<byte>(p + 4);
        ushort ftw = 0;
        for (int i = 0; i < 8; i++) ftw |= (ushort)((((ab >> i) & 1) != 0 ? 0 : 3) << (i * 2)); // valid/empty (zero/special not tracked)
        f.Fcw = c.Load<ushort>(p); f.Fsw = c.Load<ushort>(p + 2); f.Ftw = ftw; f.Fop = c.Load<ushort>(p + 6);
        f.Fip = c.Load<ulong>(p + 8); f.Fdp = c.Load<ulong>(p + 16);
        c._mxcsr = mx;
        st.CopyTo(f.St, 0);
        for (int i = 0; i < 16; i++) c.Xmm(i) = xmm[i];
        return 0;
    }

    private static Flow TranslateX87(in Instruction ins, ref DecodedInstruction d)
    {
        d.Cond = ins.Mnemonic switch
        {
            Mnemonic.Fninit => 0, Mnemonic.Fldcw => 1, Mnemonic.Fnstcw => 2,
            Mnemonic.Fnstsw => (byte)(ins.Op0Kind == OpKind.Memory ? 3 : 4),
            Mnemonic.Fnclex => 5, Mnemonic.Wait => 6, Mnemonic.Emms => 7, _ => 255,
        };
        if (d.Cond == 255) return Flow.Unsupported;
        d.Exec = &FpuControl;
        return Flow.Continue;
    }
}
