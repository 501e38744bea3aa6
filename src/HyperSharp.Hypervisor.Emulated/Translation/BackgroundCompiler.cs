using System.Collections.Concurrent;
using HyperSharp.Hypervisor.Emulated.Decoding;

namespace HyperSharp.Hypervisor.Emulated.Translation;

/// <summary>
/// Compiles hot blocks on one low-priority thread per process, so a vCPU never waits for the JIT: the JIT
/// takes milliseconds per block (it inlines every handler), and a block that runs fewer than about a hundred
/// thousand times more would not win that back. Meanwhile the vCPU keeps interpreting the block; the next
/// lookup after <see cref="CodeBlock.Translated"/> is set runs the compiled code.
/// </summary>
internal static class BackgroundCompiler
{
    /// <summary>Blocks waiting: bounded, so a burst of hot code (boot) cannot queue unbounded work and memory.</summary>
    private const int MaxQueued = 4096;
    private static readonly BlockingCollection<(CodeBlock Block, bool Optimized)> Queue = new(new ConcurrentQueue<(CodeBlock, bool)>(), MaxQueued);
    private static readonly Lazy<Thread> Worker = new(Start);

    /// <summary>Queues <paramref name="block"/> for compilation; false when the queue is full (try again later).</summary>
    public static bool Enqueue(CodeBlock block, bool optimized)
    {
        _ = Worker.Value;
        return Queue.TryAdd((block, optimized));
    }

    private static Thread Start()
    {
        var t = new Thread(Loop) { IsBackground = true, Name = "HyperSharp block compiler", Priority = ThreadPriority.BelowNormal };
        t.Start();
        return t;
    }

    private static void Loop()
    {
        foreach (var (block, optimized) in Queue.GetConsumingEnumerable())
        {
            // Invalidated while queued: it never runs again. Already at that tier or above: queued twice by two vCPUs.
            var current = block.Translated;
            if (!block.Valid || (current != null && (current.Optimized || !optimized))) continue;
            BlockCompiler.CompileInto(block, optimized);
        }
    }
}
