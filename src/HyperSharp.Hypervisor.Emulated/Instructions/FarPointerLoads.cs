using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// LDS LES LFS LGS LSS: a far pointer from memory (offset, then the selector after it) into a segment register and a
/// general register. Boot sectors and real-mode BIOS code use them (syslinux's FAT boot sector starts with LFS); the
/// segment loads first, so a faulting selector leaves the general register as it was.
/// </summary>
internal static unsafe class FarPointerLoads
{
    internal static int Load<TS>(X86Cpu c, ref DecodedInstruction d) where TS : struct, ISize
    {
        ulong lin = c.Lin(ref d);
        ulong offset = TS.Load(c, lin);
        ushort selector = c.Load<ushort>(lin + (ulong)TS.Bytes);
        int seg = (int)d.Imm2;
        Segmentation.LoadSegment(c, seg, selector);
        TS.SetReg(c, d.Reg, 0, offset & TS.Mask);
        if (seg == (int)Seg.Ss) c._shadow = c._ssLoaded = true; // as MOV SS: no interrupt before the next instruction
        SystemInstructions.Next(c, ref d);
        return 1;
    }

    internal static Flow Translate(in Instruction ins, ref DecodedInstruction d)
    {
        Seg? seg = ins.Mnemonic switch
        {
            Mnemonic.Lds => Seg.Ds, Mnemonic.Les => Seg.Es, Mnemonic.Lfs => Seg.Fs, Mnemonic.Lgs => Seg.Gs, Mnemonic.Lss => Seg.Ss,
            _ => null,
        };
        if (seg is null || ins.Op1Kind != OpKind.Memory) return Flow.Unsupported; // (the register forms are VEX/EVEX in 64-bit mode)
        d.Imm2 = (ulong)seg.Value;
        d.Exec = Translator.BySize(d.OpSize, &Load<S16>, &Load<S16>, &Load<S32>, &Load<S64>);
        return Flow.EndBlock;
    }
}
