namespace HyperSharp.Vhdx.Operations;

/// <summary>One problem a disk check found: which structure, where in the file, what is wrong, and whether it was repaired.</summary>
public sealed record DiskCheckProblem(string Structure, long FileOffset, string Message, bool Repaired, string Severity = "error");

/// <summary>The result of a disk check (Test-VHD, `vhd check`): the image, whether it is usable, its problems, and which checker ran.</summary>
public sealed record DiskCheckReport(string Path, bool Ok, IReadOnlyList<DiskCheckProblem> Problems, string Checker);
