namespace HyperSharp.Vhdx.Vhdx;

/// <summary>How serious a problem Test-VHD found is.</summary>
public enum CheckSeverity { Warning, Error }

/// <summary>One problem: which structure, where in the file, what is wrong, and whether --repair fixed it.</summary>
public sealed record CheckProblem(CheckSeverity Severity, string Structure, long FileOffset, string Message, bool Repairable, bool Repaired = false)
{
    public override string ToString() =>
        $"{Severity.ToString().ToLowerInvariant()}: {Structure} at 0x{FileOffset:X}: {Message}{(Repaired ? " [repaired]" : Repairable ? " [repairable]" : "")}";
}

/// <summary>The result of checking one image (and, for a differencing disk, its link to the parent).</summary>
public sealed record CheckReport(string Path, IReadOnlyList<CheckProblem> Problems)
{
    /// <summary>True when no error remains (warnings and repaired problems do not count).</summary>
    public bool IsValid => Problems.All(p => p.Severity == CheckSeverity.Warning || p.Repaired);
}
