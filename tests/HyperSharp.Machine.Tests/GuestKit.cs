using System.Diagnostics;

namespace HyperSharp.Machine.Tests;

/// <summary>The guest kit (stock Debian kernel + initramfs), built on first use by eng/guest/build-kit.sh and cached.</summary>
public static class GuestKit
{
    private static readonly Lazy<(string? Dir, string Why)> Kit = new(Build);

    /// <summary>The kit directory, or null with the reason it could not be built (no apt, no network to Debian).</summary>
    public static (string? Dir, string Why) Get() => Kit.Value;

    private static (string?, string) Build()
    {
        string script = Path.Combine(RepoRoot(), "eng", "guest", "build-kit.sh");
        var psi = new ProcessStartInfo("bash", [script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(600_000)) { p.Kill(true); return (null, "building the guest kit took over 10 minutes"); }
        string dir = stdout.Result.Trim();
        return p.ExitCode == 0 && File.Exists(Path.Combine(dir, "vmlinuz"))
            ? (dir, "")
            : (null, $"the guest kit could not be built (exit {p.ExitCode}): {stderr.Result.Trim()}");
    }

    public static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "HyperSharp.slnx"))) return d.FullName;
        throw new InvalidOperationException("cannot find the repository root above " + AppContext.BaseDirectory);
    }
}
