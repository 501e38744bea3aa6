using System.Reflection;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Translation;

/// <summary>What the block compiler may assume about a handler, so it can leave out work the interpreter does
/// for every instruction.</summary>
internal static class HandlerTraits
{
    /// <summary>
    /// Handlers that, given no memory operand and no RIP-relative address, read and write only registers and
    /// flags: they cannot fault, do not read RIP and cannot invalidate code, so compiled code needs neither the
    /// RIP store before them nor the block-validity test after them. Matched by name: a handler renamed here
    /// simply loses the shortcut, it never gains a wrong one.
    /// </summary>
    private static readonly HashSet<string> RegisterOnly =
    [
        "MovRR", "MovRI", "AluRR", "AluRI", "IncR", "DecR", "XchgRR", "Cmov", "Setcc", "MovX", "Lea", "Shift", "Imul2",
        "Bswap", "Cbw", "Cwd", "Nop",
    ];

    public static bool TouchesOnlyRegisters(MethodInfo handler, in DecodedInstruction d)
        => (d.Flags & InstrFlags.MemOperand) == 0
            && d.Base != DecodedInstruction.RipIndex && d.Index != DecodedInstruction.RipIndex
            && RegisterOnly.Contains(handler.Name);

    /// <summary>
    /// Whether the JIT will inline the handler into the compiled block (marked for it, or tiny): then the
    /// compiler hands it a local copy of the record whose fields the JIT folds into constants. Otherwise a
    /// local would only add stores, and the handler gets the record's address.
    /// </summary>
    public static bool Inlined(MethodInfo handler)
        => (handler.MethodImplementationFlags & MethodImplAttributes.AggressiveInlining) != 0
            || (handler.GetMethodBody()?.GetILAsByteArray()?.Length ?? int.MaxValue) <= 16;
}
