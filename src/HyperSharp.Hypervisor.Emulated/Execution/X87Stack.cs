using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// A processor's x87 register stack: the live registers and control words (<see cref="Regs"/>, in the
/// <see cref="FpuState"/> record's terms: St[] holds physical registers R0-R7 as 80-bit values in the low 10 bytes, FSW
/// bits 11-13 are TOP, FTW has 2 bits per physical register) and the stack operations the x87 handlers use on them:
/// ST(i), push and pop with stack-fault detection, tags, precision and rounding control, exception recording.
/// </summary>
/// <remarks>A struct in its processor's field, like <see cref="SoftTlb"/>: the handlers reach the registers through the
/// same one reference as when they were a field of <see cref="ArchState"/>. XMM and MXCSR are <see cref="SseRegisters"/>.</remarks>
internal struct X87Stack
{
    /// <summary>The live x87/MMX registers and control words (GetState copies them, SetState replaces them).</summary>
    public FpuState Regs = new();

    /// <summary>True when the last memory operand was a single/double denormal (it widens to a normal
    /// extended value, so the Denormal exception has to be decided from the source format).</summary>
    public bool DenormalSource;

    /// <summary>Set when an instruction read an empty register (masked stack underflow); reset per instruction.</summary>
    public bool StackFault;

    public X87Stack() { }

    /// <summary>A copy of the registers for a snapshot (<see cref="FpuState"/> is a mutable record: never share it).</summary>
    public readonly FpuState Save() => Clone(Regs);

    /// <summary>Replaces the registers with a copy of <paramref name="f"/>.</summary>
    public void Load(FpuState f) => Regs = Clone(f);

    private static FpuState Clone(FpuState f) => new()
    {
        Fcw = f.Fcw, Fsw = f.Fsw, Ftw = f.Ftw, Fop = f.Fop, Fip = f.Fip, Fdp = f.Fdp, Mxcsr = f.Mxcsr,
        St = (UInt128[])f.St.Clone(), Xmm = (UInt128[])f.Xmm.Clone(),
    };

    public readonly int Top => (Regs.Fsw >> 11) & 7;
    public readonly void SetTop(int top) => Regs.Fsw = (ushort)((Regs.Fsw & ~0x3800) | ((top & 7) << 11));

    public static Float80 ToF80(UInt128 v) => new((ulong)v, (ushort)(v >> 64));
    public static UInt128 FromF80(Float80 f) => ((UInt128)f.SignExp << 64) | f.Mant;

    public readonly bool IsEmpty(int phys) => ((Regs.Ftw >> (phys * 2)) & 3) == 3;

    public readonly void SetTag(int phys, Float80 v)
    {
        int tag = v.IsZero ? 1 : (v.BiasedExp == 0x7FFF || v.IsDenormal || (v.Mant >> 63) == 0) ? 2 : 0;
        Regs.Ftw = (ushort)((Regs.Ftw & ~(3 << (phys * 2))) | (tag << (phys * 2)));
    }

    public readonly void SetEmpty(int phys) => Regs.Ftw = (ushort)(Regs.Ftw | (3 << (phys * 2)));

    /// <summary>ST(i); an empty register is a stack underflow (masked response: the real indefinite).</summary>
    public Float80 St(int i, ref FpExc exc)
    {
        int phys = (Top + i) & 7;
        if (IsEmpty(phys))
        {
            exc |= FpExc.Invalid;
            StackFault = true;
            Regs.Fsw = (ushort)((Regs.Fsw | 0x40) & ~0x200); // SF, C1 = 0: underflow
            return Float80.Indefinite;
        }
        return ToF80(Regs.St[phys]);
    }

    public readonly void SetSt(int i, Float80 v)
    {
        int phys = (Top + i) & 7;
        Regs.St[phys] = FromF80(v);
        SetTag(phys, v);
    }

    public readonly void Push(Float80 v, ref FpExc exc)
    {
        int top = (Top - 1) & 7;
        if (!IsEmpty(top))
        {
            exc = (exc & ~FpExc.Denormal) | FpExc.Invalid; // a stack fault outranks operand exceptions
            Regs.Fsw |= 0x40 | 0x200; // SF, C1 = 1: overflow
            v = Float80.Indefinite;
        }
        SetTop(top);
        SetSt(0, v);
    }

    public readonly void Pop()
    {
        SetEmpty(Top);
        SetTop(Top + 1);
    }

    /// <summary>Precision control: 24, 53 or 64 significand bits.</summary>
    public readonly int Precision => ((Regs.Fcw >> 8) & 3) switch { 0 => 24, 2 => 53, _ => 64 };
    public readonly int Rounding => (Regs.Fcw >> 10) & 3;

    /// <summary>Records exceptions in FSW; an unmasked one sets ES/B so the next waiting x87 instruction raises #MF.
    /// (Results are the masked responses either way.)</summary>
    public readonly void Exceptions(FpExc exc)
    {
        if (StackFault) exc &= ~FpExc.Denormal; // a stack fault outranks operand exceptions
        if (exc == FpExc.None) return;
        Regs.Fsw |= (ushort)exc;
        if (((int)exc & ~Regs.Fcw & 0x3F) != 0) Regs.Fsw |= 0x8080;
    }

    /// <summary>Sets C3 C2 C0 from a comparison (-1, 0, 1, 2 = unordered); C1 cleared.</summary>
    public readonly void CompareFlags(int r)
    {
        ushort c = r switch { -1 => 0x0100, 0 => 0x4000, 1 => 0, _ => 0x4500 };
        Regs.Fsw = (ushort)((Regs.Fsw & ~0x4700) | c);
    }

    /// <summary>Loads the x87 half of an FXSAVE image (the caller loads MXCSR and the XMM registers).</summary>
    public readonly void RestoreFx(ReadOnlySpan<byte> img)
    {
        var f = Regs;
        f.Fcw = BitConverter.ToUInt16(img);
        f.Fsw = BitConverter.ToUInt16(img[2..]);
        byte ab = img[4];
        ushort ftw = 0;
        for (int i = 0; i < 8; i++) ftw |= (ushort)((((ab >> i) & 1) != 0 ? 0 : 3) << (i * 2));
        f.Ftw = ftw;
        f.Fop = BitConverter.ToUInt16(img[6..]);
        f.Fip = BitConverter.ToUInt64(img[8..]);
        f.Fdp = BitConverter.ToUInt64(img[16..]);
        int top = (f.Fsw >> 11) & 7;
        for (int i = 0; i < 8; i++)
        {
            ulong mant = BitConverter.ToUInt64(img[(32 + i * 16)..]);
            ushort se = BitConverter.ToUInt16(img[(40 + i * 16)..]);
            f.St[(top + i) & 7] = ((UInt128)se << 64) | mant;
        }
        // Tags of non-empty registers are recomputed from their contents, as the hardware does.
        for (int i = 0; i < 8; i++) if (!IsEmpty(i)) SetTag(i, ToF80(f.St[i]));
    }

    /// <summary>Writes the x87 half of an FXSAVE image into <paramref name="img"/> (cleared by the caller): registers in
    /// stack order (ST0 first), abridged tags per physical register.</summary>
    public readonly void SaveFx(Span<byte> img)
    {
        var f = Regs;
        byte abridged = 0;
        for (int i = 0; i < 8; i++) if (((f.Ftw >> (i * 2)) & 3) != 3) abridged |= (byte)(1 << i);
        BitConverter.TryWriteBytes(img, f.Fcw);
        BitConverter.TryWriteBytes(img[2..], f.Fsw);
        img[4] = abridged;
        BitConverter.TryWriteBytes(img[6..], f.Fop);
        BitConverter.TryWriteBytes(img[8..], f.Fip);
        BitConverter.TryWriteBytes(img[16..], f.Fdp);
        int top = (f.Fsw >> 11) & 7;
        for (int i = 0; i < 8; i++)
        {
            UInt128 v = f.St[(top + i) & 7];
            BitConverter.TryWriteBytes(img[(32 + i * 16)..], (ulong)v);
            BitConverter.TryWriteBytes(img[(40 + i * 16)..], (ushort)(v >> 64));
        }
    }
}
