namespace HyperSharp.Cli.Vhd;

/// <summary>One problem `vhd check` found: which structure, where in the file, what is wrong, and whether it was repaired.</summary>
public sealed record CheckProblem(string Structure, long FileOffset, string Message, bool Repaired, string Severity = "error");

/// <summary>The result of `vhd check`: the image, whether it is usable, its problems, and which checker ran.</summary>
public sealed record CheckReport(string Path, bool Ok, IReadOnlyList<CheckProblem> Problems, string Checker);
