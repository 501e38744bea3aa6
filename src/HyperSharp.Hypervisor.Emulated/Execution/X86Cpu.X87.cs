using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Execution;

public sealed unsafe partial class X86Cpu
{
    // The x87 register stack, kept in the FpuState record's terms: St[] holds physical registers R0-R7
    // (80-bit values in the low 10 bytes), FSW bits 11-13 are TOP, FTW has 2 bits per physical register.

    /// <summary>True when the last memory operand was a single/double denormal (it widens to a normal
    /// extended value, so the Denormal exception has to be decided from the source format).</summary>
    internal bool _fpDenormalSource;

    internal int FpuTop => (Arch.Fpu.Fsw >> 11) & 7;
    internal void SetTop(int top) => Arch.Fpu.Fsw = (ushort)((Arch.Fpu.Fsw & ~0x3800) | ((top & 7) << 11));

    internal static Float80 ToF80(UInt128 v) => new((ulong)v, (ushort)(v >> 64));
    internal static UInt128 FromF80(Float80 f) => ((UInt128)f.SignExp << 64) | f.Mant;

    internal bool IsEmpty(int phys) => ((Arch.Fpu.Ftw >> (phys * 2)) & 3) == 3;

    internal void SetTag(int phys, Float80 v)
    {
        int tag = v.IsZero ? 1 : (v.BiasedExp == 0x7FFF || v.IsDenormal || (v.Mant >> 63) == 0) ? 2 : 0;
        Arch.Fpu.Ftw = (ushort)((Arch.Fpu.Ftw & ~(3 << (phys * 2))) | (tag << (phys * 2)));
    }

    internal void SetEmpty(int phys) => Arch.Fpu.Ftw = (ushort)(Arch.Fpu.Ftw | (3 << (phys * 2)));

    /// <summary>ST(i); an empty register is a stack underflow (masked response: the real indefinite).</summary>
    internal Float80 St(int i, ref FpExc exc)
    {
        int phys = (FpuTop + i) & 7;
        if (IsEmpty(phys))
        {
            exc |= FpExc.Invalid;
            _fpStackFault = true;
            Arch.Fpu.Fsw = (ushort)((Arch.Fpu.Fsw | 0x40) & ~0x200); // SF, C1 = 0: underflow
            return Float80.Indefinite;
        }
        return ToF80(Arch.Fpu.St[phys]);
    }

    internal void SetSt(int i, Float80 v)
    {
        int phys = (FpuTop + i) & 7;
        Arch.Fpu.St[phys] = FromF80(v);
        SetTag(phys, v);
    }

    internal void FpuPush(Float80 v, ref FpExc exc)
    {
        int top = (FpuTop - 1) & 7;
        if (!IsEmpty(top))
        {
            exc = (exc & ~FpExc.Denormal) | FpExc.Invalid; // a stack fault outranks operand exceptions
            Arch.Fpu.Fsw |= 0x40 | 0x200; // SF, C1 = 1: overflow
            v = Float80.Indefinite;
        }
        SetTop(top);
        SetSt(0, v);
    }

    internal void FpuPop()
    {
        SetEmpty(FpuTop);
        SetTop(FpuTop + 1);
    }

    /// <summary>Precision control: 24, 53 or 64 significand bits.</summary>
    internal int FpuPrecision => ((Arch.Fpu.Fcw >> 8) & 3) switch { 0 => 24, 2 => 53, _ => 64 };
    internal int FpuRounding => (Arch.Fpu.Fcw >> 10) & 3;

    /// <summary>Records exceptions in FSW; an unmasked one sets ES/B so the next waiting x87 instruction raises #MF.
    /// (Results are the masked responses either way.)</summary>
    internal void FpuExceptions(FpExc exc)
    {
        if (_fpStackFault) exc &= ~FpExc.Denormal; // a stack fault outranks operand exceptions
        if (exc == FpExc.None) return;
        Arch.Fpu.Fsw |= (ushort)exc;
        if (((int)exc & ~Arch.Fpu.Fcw & 0x3F) != 0) Arch.Fpu.Fsw |= 0x8080;
    }

    /// <summary>#NM for CR0.EM/TS, then #MF for a pending unmasked exception when CR0.NE.</summary>
    /// <summary>Set when an instruction read an empty register (masked stack underflow); reset per instruction.</summary>
    internal bool _fpStackFault;

    internal void FpuCheck()
    {
        _fpStackFault = false;
        if ((Arch.Cr0 & (Cr0EM | Cr0TS)) != 0) throw Fault(Vec.NM);
        if ((Arch.Fpu.Fsw & 0x80) != 0 && (Arch.Cr0 & Cr0NE) != 0) throw Fault(Vec.MF);
    }

    /// <summary>Sets C3 C2 C0 from a comparison (-1, 0, 1, 2 = unordered); C1 cleared.</summary>
    internal void FpuCompareFlags(int r)
    {
        ushort c = r switch { -1 => 0x0100, 0 => 0x4000, 1 => 0, _ => 0x4500 };
        Arch.Fpu.Fsw = (ushort)((Arch.Fpu.Fsw & ~0x4700) | c);
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
}
