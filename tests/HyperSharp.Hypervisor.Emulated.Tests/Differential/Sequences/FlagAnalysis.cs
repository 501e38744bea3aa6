using Iced.Intel;
using Decoder = Iced.Intel.Decoder;

namespace HyperSharp.Hypervisor.Emulated.Tests.Differential.Sequences;

/// <summary>
/// Which status flags a sequence leaves undefined (per the SDM, as Iced records it), instruction by instruction. A
/// sequence in which an instruction reads a flag left undefined earlier is not generated (its outcome is undefined
/// for the SDM, and the generated cases stay the same for every vendor). Comparisons mask undefined flags only for a
/// processor whose undefined results the emulator does not model (<see cref="Masked"/>).
/// </summary>
internal static class FlagAnalysis
{
    public const ulong StatusFlags = 0x8D5;

    /// <summary>
    /// Of the flags the SDM leaves <paramref name="undefined"/>, those a comparison against a processor of
    /// <paramref name="vendor"/> must mask: none for Intel and AMD, whose values for every undefined flag of the generated
    /// forms the emulator produces (FLAGS.md); all of them for another vendor (null).
    /// </summary>
    public static ulong Masked(ulong undefined, ProcessorVendor? vendor) => vendor is null ? undefined : 0;

    public static ulong Bits(RflagsBits u)
    {
        ulong m = 0;
        if ((u & RflagsBits.OF) != 0) m |= 0x800;
        if ((u & RflagsBits.SF) != 0) m |= 0x80;
        if ((u & RflagsBits.ZF) != 0) m |= 0x40;
        if ((u & RflagsBits.AF) != 0) m |= 0x10;
        if ((u & RflagsBits.CF) != 0) m |= 0x1;
        if ((u & RflagsBits.PF) != 0) m |= 0x4;
        return m;
    }

    /// <summary>Advances <paramref name="undefined"/> over one instruction; false when it reads an undefined flag.</summary>
    public static bool Step(in Instruction ins, ref ulong undefined)
    {
        if ((Bits(ins.RflagsRead) & undefined) != 0) return false;
        if (!MayLeaveFlags(ins)) undefined &= ~Bits(ins.RflagsModified);
        undefined |= Bits(ins.RflagsUndefined);
        return true;
    }

    /// <summary>A shift or rotate whose masked count may be zero, or a REP string instruction whose count may be zero,
    /// changes no flag, so flags undefined before it stay undefined.</summary>
    private static bool MayLeaveFlags(in Instruction ins)
    {
        if (ins.HasRepPrefix || ins.HasRepePrefix || ins.HasRepnePrefix) return true;
        if (ins.Mnemonic is not (Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Rcl or Mnemonic.Rcr or Mnemonic.Shl or Mnemonic.Sal
            or Mnemonic.Shr or Mnemonic.Sar or Mnemonic.Shld or Mnemonic.Shrd)) return false;
        int countOp = ins.OpCount - 1;
        if (ins.GetOpKind(countOp) == OpKind.Register) return ins.GetOpRegister(countOp) == Register.CL;
        int width = ins.Op0Kind == OpKind.Register ? ins.Op0Register.GetSize() : ins.MemorySize.GetSize();
        ulong mask = width == 8 ? 0x3FUL : 0x1FUL;
        return (ins.GetImmediate(countOp) & mask) == 0;
    }

    /// <summary>Decodes <paramref name="code"/>: each instruction's offset and the undefined flags before it (one more
    /// entry each for the end), or null when the sequence reads an undefined flag.</summary>
    public static (int[] offsets, ulong[] undefinedBefore, Instruction[] instructions)? Analyze(byte[] code)
    {
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(code));
        var offsets = new List<int>();
        var masks = new List<ulong>();
        var list = new List<Instruction>();
        ulong undefined = 0;
        while (decoder.IP < (ulong)code.Length)
        {
            offsets.Add((int)decoder.IP);
            masks.Add(undefined);
            var ins = decoder.Decode();
            list.Add(ins);
            if (!Step(ins, ref undefined)) return null;
        }
        offsets.Add(code.Length);
        masks.Add(undefined);
        return (offsets.ToArray(), masks.ToArray(), list.ToArray());
    }
}
