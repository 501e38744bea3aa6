using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Execution;
using unsafe Handler = delegate*<HyperSharp.Hypervisor.Emulated.Execution.X86Cpu, ref HyperSharp.Hypervisor.Emulated.Decoding.DecodedInstruction, int>;

namespace HyperSharp.Hypervisor.Emulated.Decoding;

/// <summary>What translating one instruction says about the block it is in.</summary>
internal enum Flow
{
    /// <summary>Execution may fall through to the next instruction within the block.</summary>
    Continue,
    /// <summary>The instruction transfers control or changes how code decodes: the block ends after it.</summary>
    EndBlock,
    /// <summary>Not implemented: the handler raises #UD and the block ends.</summary>
    Unsupported,
}

/// <summary>
/// Turns one Iced <see cref="Instruction"/> into a <see cref="DecodedInstruction"/>: fills the operand
/// descriptors by a fixed rule (operand 0's register in Reg, operand 1's in Rm, the memory operand in
/// Base/Index/Scale/Disp/Seg, the immediate or branch offset in Imm), then lets the instruction's group
/// pick its handler.
/// </summary>
internal static unsafe class Translator
{
    /// <summary>Translates <paramref name="ins"/>; <paramref name="vendor"/> is the presented vendor, whose handlers
    /// instructions with undefined results get.</summary>
    public static Flow Translate(in Instruction ins, int bitness, ProcessorVendor vendor, ref DecodedInstruction d)
    {
        d = default;
        d.Len = (byte)ins.Length;
        d.Code = (ushort)ins.Code;
        d.Base = d.Index = DecodedInstruction.ZeroIndex;
        d.AddrMask = bitness == 64 ? ulong.MaxValue : bitness == 32 ? 0xFFFFFFFF : 0xFFFF;
        d.Seg = (byte)Execution.Seg.Ds;
        if (ins.HasLockPrefix) d.Flags |= InstrFlags.Lock;
        if (ins.HasRepPrefix || ins.HasRepePrefix) d.Flags |= InstrFlags.Rep;
        if (ins.HasRepnePrefix) d.Flags |= InstrFlags.Repne;
        if (ins.IsInvalid) { d.Exec = &X86Cpu.RaiseUd; return Flow.Unsupported; }

        int opSize = 0;
        for (int i = 0; i < ins.OpCount; i++)
        {
            switch (ins.GetOpKind(i))
            {
                case OpKind.Register:
                {
                    var r = ins.GetOpRegister(i);
                    if (r.IsGPR())
                    {
                        GprIndex(r, out byte idx, out byte shift);
                        if (i == 0) { d.Reg = idx; d.RegShift = shift; }
                        else if (i == 1) { d.Rm = idx; d.RmShift = shift; }
                        if (i == 0 || opSize == 0) opSize = r.GetSize();
                    }
                    else if (r.IsXMM() || r.IsMM() || r.IsSegmentRegister() || r.IsCR() || r.IsDR())
                    {
                        byte n = (byte)RegNumber(r);
                        if (i == 0) d.Reg = n; else d.Rm = n;
                    }
                    break;
                }
                case OpKind.Memory:
                    SetMemory(in ins, bitness, ref d);
                    if (i == 0) opSize = ins.MemorySize.GetSize();
                    break;
                case OpKind.Immediate8:
                case OpKind.Immediate16:
                case OpKind.Immediate32:
                case OpKind.Immediate64:
                case OpKind.Immediate8to16:
                case OpKind.Immediate8to32:
                case OpKind.Immediate8to64:
                case OpKind.Immediate32to64:
                    if (i == 0 || ins.GetOpKind(i - 1) is not (OpKind.Immediate8 or OpKind.Immediate16)) d.Imm = ins.GetImmediate(i);
                    else d.Imm2 = ins.GetImmediate(i); // ENTER imm16, imm8
                    break;
                case OpKind.Immediate8_2nd:
                    d.Imm2 = ins.GetImmediate(i);
                    break;
                case OpKind.NearBranch16:
                    d.Imm = ins.NearBranch16 - ins.IP; d.Imm2 = 0xFFFF; break;
                case OpKind.NearBranch32:
                    d.Imm = ins.NearBranch32 - ins.IP; d.Imm2 = 0xFFFFFFFF; break;
                case OpKind.NearBranch64:
                    d.Imm = ins.NearBranch64 - ins.IP; d.Imm2 = ulong.MaxValue; break;
                case OpKind.FarBranch16:
                    d.Imm = ins.FarBranch16; d.Imm2 = ins.FarBranchSelector; break;
                case OpKind.FarBranch32:
                    d.Imm = ins.FarBranch32; d.Imm2 = ins.FarBranchSelector; break;
                case OpKind.MemorySegSI: case OpKind.MemorySegESI: case OpKind.MemorySegRSI:
                case OpKind.MemorySegDI: case OpKind.MemorySegEDI: case OpKind.MemorySegRDI:
                case OpKind.MemoryESDI: case OpKind.MemoryESEDI: case OpKind.MemoryESRDI:
                    SetStringOperand(in ins, i, ref d);
                    if (i == 0 || opSize == 0) opSize = ins.MemorySize.GetSize();
                    break;
            }
        }
        int osz = ins.OpCode.OperandSize;
        d.OpSize = (byte)(opSize != 0 ? opSize : osz != 0 ? osz / 8 : bitness == 64 ? 4 : bitness / 8);
        if (ins.OpCount > 0 && ins.GetOpKind(0) == OpKind.Memory) d.Flags |= InstrFlags.MemOperand;
        else for (int i = 1; i < ins.OpCount; i++) if (ins.GetOpKind(i) == OpKind.Memory) d.Flags |= InstrFlags.MemOperand;
        d.Cond = ins.ConditionCode == ConditionCode.None ? (byte)0 : (byte)(ins.ConditionCode - 1);

        Flow f = TranslateInteger(in ins, bitness, vendor, ref d);
        if (f == Flow.Unsupported) f = ControlInstructions.Translate(in ins, bitness, ref d);
        if (f == Flow.Unsupported) f = SystemInstructions.Translate(in ins, bitness, ref d);
        if (f == Flow.Unsupported) f = LegacyInstructions.Translate(in ins, bitness, ref d);
        if (f == Flow.Unsupported) f = FarPointerLoads.Translate(in ins, ref d);
        if (f == Flow.Unsupported) f = SseInstructions.Translate(in ins, bitness, ref d);
        if (f == Flow.Unsupported) d.Exec = &X86Cpu.RaiseUd;
        return f;
    }

    /// <summary>The integer group's translation entry point; <paramref name="vendor"/> picks the handlers of instructions with
    /// results the manuals leave undefined.</summary>
    private static Flow TranslateInteger(in Instruction ins, int bitness, ProcessorVendor vendor, ref DecodedInstruction d)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Add: case Mnemonic.Adc: case Mnemonic.Sub: case Mnemonic.Sbb: case Mnemonic.Cmp:
            case Mnemonic.And: case Mnemonic.Or: case Mnemonic.Xor: case Mnemonic.Test:
                return AluInstructions.Translate(in ins, ref d);
            case Mnemonic.Rol: case Mnemonic.Ror: case Mnemonic.Rcl: case Mnemonic.Rcr: case Mnemonic.Shl:
            case Mnemonic.Shr: case Mnemonic.Sal: case Mnemonic.Sar: case Mnemonic.Shld: case Mnemonic.Shrd:
                return ShiftInstructions.Translate(in ins, vendor, ref d);
            case Mnemonic.Mul: case Mnemonic.Imul: case Mnemonic.Div: case Mnemonic.Idiv:
                return MulDivInstructions.Translate(in ins, vendor, ref d);
        }
        var f = MoveInstructions.Translate(in ins, ref d);
        if (f == Flow.Unsupported) f = UnaryInstructions.Translate(in ins, ref d);
        if (f == Flow.Unsupported) f = BitInstructions.Translate(in ins, ref d);
        if (f == Flow.Unsupported) f = StringInstructions.Translate(in ins, ref d);
        return f;
    }

    /// <summary>The handler for operand size <paramref name="size"/> (1, 2, 4, else 8): what every group's translation picks with.</summary>
    internal static Handler BySize(int size, Handler h8, Handler h16, Handler h32, Handler h64)
        => size switch { 1 => h8, 2 => h16, 4 => h32, _ => h64 };

    private static void SetMemory(in Instruction ins, int bitness, ref DecodedInstruction d)
    {
        var b = ins.MemoryBase;
        var x = ins.MemoryIndex;
        d.Seg = (byte)(ins.MemorySegment - Register.ES);
        int addrSize = b != Register.None ? b.GetSize() : x != Register.None ? x.GetSize() : 0;
        if (b is Register.RIP or Register.EIP)
        {
            d.Base = DecodedInstruction.RipIndex;
            d.Disp = ins.MemoryDisplacement64 - ins.IP; // RIP-relative: target - start of instruction
            d.AddrMask = b == Register.RIP ? ulong.MaxValue : 0xFFFFFFFF;
            return;
        }
        if (b != Register.None) { GprIndex(b, out byte bi, out _); d.Base = bi; }
        if (x != Register.None)
        {
            GprIndex(x, out byte xi, out _);
            d.Index = xi;
            d.Scale = (byte)System.Numerics.BitOperations.Log2((uint)ins.MemoryIndexScale);
        }
        d.Disp = ins.MemoryDisplacement64;
        if (addrSize == 0) addrSize = bitness == 64 ? (ins.MemoryDisplSize == 4 && ins.CodeSize != CodeSize.Code64 ? 4 : 8) : ins.MemoryDisplSize == 2 ? 2 : 4;
        d.AddrMask = addrSize switch { 2 => 0xFFFF, 4 => 0xFFFFFFFF, _ => ulong.MaxValue };
    }

    private static void SetStringOperand(in Instruction ins, int i, ref DecodedInstruction d)
    {
        var k = ins.GetOpKind(i);
        d.AddrMask = k switch
        {
            OpKind.MemorySegSI or OpKind.MemorySegDI or OpKind.MemoryESDI => 0xFFFF,
            OpKind.MemorySegESI or OpKind.MemorySegEDI or OpKind.MemoryESEDI => 0xFFFFFFFF,
            _ => ulong.MaxValue,
        };
        if (k is not (OpKind.MemoryESDI or OpKind.MemoryESEDI or OpKind.MemoryESRDI))
            d.Seg = (byte)(ins.MemorySegment - Register.ES); // the overridable source segment
    }

    /// <summary>Maps an Iced GPR to our register index and, for AH/CH/DH/BH, the shift 8.</summary>
    public static void GprIndex(Register r, out byte index, out byte shift)
    {
        shift = 0;
        if (r >= Register.AL && r <= Register.R15L)
        {
            if (r >= Register.AH && r <= Register.BH) { index = (byte)(r - Register.AH); shift = 8; }
            else if (r >= Register.SPL && r <= Register.DIL) index = (byte)(r - Register.SPL + 4);
            else if (r >= Register.R8L) index = (byte)(r - Register.R8L + 8);
            else index = (byte)(r - Register.AL);
            return;
        }
        index = (byte)(r.GetFullRegister() - Register.RAX);
    }

    /// <summary>Number of a non-GPR register within its class (XMM3 = 3, CR4 = 4, FS = 4...).</summary>
    public static int RegNumber(Register r)
    {
        if (r.IsXMM()) return r - Register.XMM0;
        if (r.IsMM()) return r - Register.MM0;
        if (r.IsSegmentRegister()) return r - Register.ES;
        if (r.IsCR()) return r - Register.CR0;
        if (r.IsDR()) return r - Register.DR0;
        return 0;
    }
}
