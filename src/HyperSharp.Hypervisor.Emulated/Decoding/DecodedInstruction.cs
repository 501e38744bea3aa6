using System.Runtime.InteropServices;
using HyperSharp.Hypervisor.Emulated.Execution;

namespace HyperSharp.Hypervisor.Emulated.Decoding;

/// <summary>
/// One instruction, pre-resolved from Iced's decode into what its handler needs: the handler itself
/// (a function pointer, chosen for the exact operation, operand form and size) and operand
/// descriptors as small register indices (56 bytes in all). Executing it never looks at Iced again.
/// </summary>
/// <remarks>
/// Register indices: 0-15 are the GPRs, <see cref="RipIndex"/> is the current instruction's address
/// (so RIP-relative addressing is just "base = 16" with the instruction length folded into Disp),
/// <see cref="ZeroIndex"/> always reads 0 (absent base or index). The effective address is
/// therefore R[Base] + (R[Index] &lt;&lt; Scale) + Disp with no branches.
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DecodedInstruction
{
    public const byte RipIndex = 16;
    public const byte ZeroIndex = 17;

    /// <summary>Returns 0 to continue with the next instruction of the block, nonzero to leave the block
    /// (RIP is then already the address to continue at).</summary>
    public delegate*<X86Cpu, ref DecodedInstruction, int> Exec;
    /// <summary>Immediate (already sign-extended and masked to the operand size), or the branch
    /// displacement plus the instruction length (target = RIP + Imm).</summary>
    public ulong Imm;
    /// <summary>Memory displacement (plus the length for RIP-relative operands).</summary>
    public ulong Disp;
    /// <summary>Second immediate: mask of the instruction pointer width for branches, ENTER's level, far selector.</summary>
    public ulong Imm2;
    /// <summary>Effective-address width mask (0xFFFF / 0xFFFFFFFF / all ones).</summary>
    public ulong AddrMask;
    /// <summary>Length in bytes.</summary>
    public byte Len;
    /// <summary>First register operand (usually the destination) and, for 8-bit AH..BH, a shift of 8.</summary>
    public byte Reg, RegShift;
    /// <summary>Second register operand (source, or the register form of r/m).</summary>
    public byte Rm, RmShift;
    public byte Base, Index, Scale;
    /// <summary>Segment of the memory operand (0-5 = ES CS SS DS FS GS).</summary>
    public byte Seg;
    /// <summary>Operand size in bytes (1, 2, 4, 8; 16 for XMM).</summary>
    public byte OpSize;
    /// <summary>Condition code 0-15 in x86 encoding order (Jcc/SETcc/CMOVcc), or a sub-operation.</summary>
    public byte Cond;
    /// <summary>Prefix and misc flags (see <see cref="InstrFlags"/>).</summary>
    public byte Flags;
    /// <summary>Iced's Code, kept for diagnostics only.</summary>
    public ushort Code;
}

internal static class InstrFlags
{
    public const byte Lock = 1;
    public const byte Rep = 2;    // REP / REPE
    public const byte Repne = 4;
    public const byte MemOperand = 8;
    /// <summary>SSE: the 128-bit memory operand must be 16-byte aligned (#GP otherwise).</summary>
    public const byte Aligned = 16;
}
