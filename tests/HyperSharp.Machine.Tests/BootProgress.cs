using System.Diagnostics;

namespace HyperSharp.Machine.Tests;

/// <summary>
/// Waits for a guest that is slowed, not stuck. A loaded machine stretches emulated kernel code many times over, so a
/// fixed deadline fails healthy boots; a console that stays silent for minutes is a hang, and an overall bound no
/// progressing boot comes near catches a guest that prints forever.
/// </summary>
internal static class BootProgress
{
    public static readonly TimeSpan Silence = TimeSpan.FromSeconds(300);
    public static readonly TimeSpan Overall = TimeSpan.FromMinutes(13); // inside the runner's 15 minutes per test (--blame-hang-timeout): a failure, not an aborted run

    public static string Describe => $"its console was silent for {Silence.TotalSeconds:0} s or it ran past {Overall.TotalMinutes:0} min";

    /// <summary>True once <paramref name="done"/> completes; false after <see cref="Silence"/> without <paramref name="progress"/> moving, or past <see cref="Overall"/>.</summary>
    public static async Task<bool> WaitAsync(Task done, Func<int> progress)
    {
        var overall = Stopwatch.StartNew();
        var sinceProgress = Stopwatch.StartNew();
        int last = progress();
        while (await Task.WhenAny(done, Task.Delay(TimeSpan.FromSeconds(2))) != done)
        {
            int now = progress();
            if (now != last) { last = now; sinceProgress.Restart(); }
            if (sinceProgress.Elapsed > Silence || overall.Elapsed > Overall) return false;
        }
        return true;
    }
}
