using HyperSharp.Hypervisor.Emulated.Decoding;
using HyperSharp.Hypervisor.Emulated.Execution;

namespace HyperSharp.Hypervisor.Emulated.Translation;

/// <summary>Compiled code of one block: runs the block's instructions in order and returns how many it
/// executed (retired), leaving RIP where the interpreter would.</summary>
internal delegate int TranslatedCode(X86Cpu cpu, CodeBlock block);

/// <summary>
/// A <see cref="CodeBlock"/> compiled to one method by <see cref="BlockCompiler"/>. It belongs to its block:
/// whatever drops the block (a write to its page, a TLB or mode change that makes the lookup miss) drops this
/// code with it, and the code itself leaves as soon as the block turns invalid under it.
/// </summary>
internal sealed class TranslatedBlock
{
    public readonly TranslatedCode Run;
    /// <summary>The records the compiled code passes to handlers it calls, by address: pinned, and kept alive
    /// by this object (callers hold it across <see cref="Run"/>).</summary>
    private readonly DecodedInstruction[] _records;
    /// <summary>Start of each instruction relative to the block's first byte.</summary>
    private readonly uint[] _offsets;

    /// <summary>Optimized tier (handlers inlined), else the quick tier (see <see cref="BlockCompiler"/>).</summary>
    public readonly bool Optimized;
    /// <summary>Runs of the quick tier's code (racy between vCPUs: it only decides when to optimize).</summary>
    public int Runs;

    public TranslatedBlock(TranslatedCode run, DecodedInstruction[] records, uint[] offsets, bool optimized)
    {
        Run = run;
        Optimized = optimized;
        _records = records;
        _offsets = offsets;
    }

    /// <summary>Has the JIT compile the method now (its first call would otherwise), off the processor's thread.</summary>
    public void Prepare() => Run(null!, null!);

    /// <summary>
    /// Instructions retired before a fault thrown with RIP at <paramref name="offset"/> bytes past the block's
    /// start: faults leave RIP at the faulting instruction, so its index is the count of those before it.
    /// </summary>
    public int RetiredBefore(ulong offset)
    {
        int i = Array.BinarySearch(_offsets, offset > uint.MaxValue ? uint.MaxValue : (uint)offset);
        // Handlers fault before moving RIP, so a miss would be a handler bug: count what surely ran before it.
        System.Diagnostics.Debug.Assert(i >= 0, $"a fault left RIP {offset} bytes into a compiled block, not at an instruction");
        return i >= 0 ? i : Math.Max(0, ~i - 1);
    }
}
