namespace HyperSharp.Hypervisor.Emulated.Tests.Differential.Sequences;

/// <summary>Reduces a mismatching case to a minimal one: drops units (instructions or set-up groups) one at a time
/// while the mismatch persists and the sequence stays valid (reads no undefined flag).</summary>
internal static class Shrinker
{
    public static SequenceCase Shrink(SequenceCase c, Func<SequenceCase, string?> mismatch)
    {
        for (bool progress = true; progress;)
        {
            progress = false;
            for (int i = 0; i < c.Parts.Count && c.Parts.Count > 1; i++)
            {
                var candidate = c.WithParts(c.Parts.Where((_, j) => j != i).ToList());
                if (FlagAnalysis.Analyze(candidate.Code) is null || mismatch(candidate) is null) continue;
                c = candidate;
                progress = true;
                break;
            }
        }
        return c;
    }
}
