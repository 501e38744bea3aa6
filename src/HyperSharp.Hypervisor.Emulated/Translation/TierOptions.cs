namespace HyperSharp.Hypervisor.Emulated.Translation;

/// <summary>
/// Whether hot blocks are compiled to IL, and when (see <see cref="BlockCompiler"/> for the two tiers). From the
/// environment, read once per process:
/// <list type="bullet">
/// <item>HYPERSHARP_EMULATOR_TIER=interpreter turns compilation off (to compare, or to rule it out).</item>
/// <item>HYPERSHARP_EMULATOR_TIER_THRESHOLD=N: runs of a block before its quick compilation.</item>
/// <item>HYPERSHARP_EMULATOR_TIER_OPTIMIZE=N: runs of quick-compiled code before the block is optimized.</item>
/// </list>
/// A threshold of 1 compiles on the processor's own thread before the block's first run (the optimized tier
/// right away when both are 1): tests use it to put every block through the compiler. Larger thresholds
/// compile on a background thread while the processor goes on.
/// </summary>
public static class TierOptions
{
    /// <summary>
    /// Quick tier: enough runs to skip code that runs a few times (a Linux boot decodes ~36 000 blocks, 6 000 of
    /// them run 200 times or more). Measured on the Debian boot and the in-guest workload (bench/README.md): any
    /// threshold from 256 to 65 536 boots in the same time (the optimized tier's 133 hottest blocks carry it),
    /// but every compiled block costs memory — 196 MiB beyond guest RAM at /init with 256, 157-161 MiB with
    /// 16 384 (154 MiB interpreting only) — and the JIT competes with the guest for the host's cores: the
    /// workload ran 45.2 s with 256 and 41.3 s with 16 384.
    /// </summary>
    public const int DefaultThreshold = 16_384;
    /// <summary>Optimized tier: the JIT spends ~0.5 ms per guest instruction on it, which the optimized code wins
    /// back only after ~100 000 runs (in a Linux boot, 133 blocks get there and then carry ~75% of the instructions).</summary>
    public const int DefaultOptimizeThreshold = 100_000;

    /// <summary>The quick-tier threshold new processors start with; 0 = interpreter only.</summary>
    public static int Threshold { get; } = Read("HYPERSHARP_EMULATOR_TIER_THRESHOLD", DefaultThreshold);

    /// <summary>The optimized-tier threshold new processors start with; 0 = quick tier only.</summary>
    public static int OptimizeThreshold { get; } = Read("HYPERSHARP_EMULATOR_TIER_OPTIMIZE", DefaultOptimizeThreshold);

    private static int Read(string name, int fallback)
    {
        // Where the runtime cannot generate code (NativeAOT), there is no tier to compile to.
        if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported) return 0;
        string? tier = Environment.GetEnvironmentVariable("HYPERSHARP_EMULATOR_TIER");
        if (string.Equals(tier, "interpreter", StringComparison.OrdinalIgnoreCase)) return 0;
        if (!string.IsNullOrEmpty(tier) && !string.Equals(tier, "translate", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"HYPERSHARP_EMULATOR_TIER='{tier}': expected 'interpreter' or 'translate'.");
        string? n = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrEmpty(n)) return fallback;
        if (!int.TryParse(n, out int v) || v < 0)
            throw new InvalidOperationException($"{name}='{n}': expected a whole number (0 = off, 1 = compile before the first run).");
        return v;
    }
}
