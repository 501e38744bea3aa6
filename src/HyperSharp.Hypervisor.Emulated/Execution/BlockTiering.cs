using System.Runtime.CompilerServices;
using HyperSharp.Hypervisor.Emulated.Decoding;
using HyperSharp.Hypervisor.Emulated.Translation;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// When a block leaves the interpreter: counted runs against the processor's <see cref="X86Cpu.TranslationThreshold"/>
/// (quick IL) and <see cref="X86Cpu.OptimizeThreshold"/> (optimized IL), compiled by the background compiler, or at
/// once with a threshold of 1 (tests).
/// </summary>
internal static class BlockTiering
{
    /// <summary>Counts a run of an interpreted block. At the threshold it is queued for the background compiler,
    /// or, with a threshold of 1, compiled here and run compiled at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TranslatedBlock? Heat(X86Cpu c, CodeBlock b)
    {
        int threshold = c.TranslationThreshold;
        if (threshold == 0 || ++b.Heat != threshold) return null;
        return Translate(b, threshold == 1, c.OptimizeThreshold == 1);
    }

    /// <summary>Quick-compiled code got hot: compile it optimized (here with a threshold of 1, else in the background).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Optimize(X86Cpu c, CodeBlock b) => Translate(b, c.OptimizeThreshold == 1, optimized: true);

    private static TranslatedBlock? Translate(CodeBlock b, bool here, bool optimized)
    {
        // Only cached blocks: a straddling instruction is rebuilt each time it runs. Two vCPUs may compile the
        // same block at once; either result is the same code.
        if (!b.Cacheable || b.Instructions.Length < 2) return null;
        if (here) return BlockCompiler.CompileInto(b, optimized);
        if (!BackgroundCompiler.Enqueue(b, optimized))
        {
            // Queue full: count up again and retry later.
            if (b.Translated is { } t) t.Runs = 0; else b.Heat = 0;
        }
        return null;
    }
}
