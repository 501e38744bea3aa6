using System.Diagnostics;
using HyperSharp.Machine.Tests;

namespace HyperSharp.PowerShell.Tests;

/// <summary>HyperSharp's PowerShell disk (hs-pwsh on ext4, eng/guest/build-pwsh-disk.sh), built once per test run.</summary>
public static class PwshDisk
{
    private static readonly Lazy<(string? Image, string Why)> Disk = new(Build);

    public static (string? Image, string Why) Get() => Disk.Value;

    private static (string?, string) Build()
    {
        string script = Path.Combine(GuestKit.RepoRoot(), "eng", "guest", "build-pwsh-disk.sh");
        using var p = Process.Start(new ProcessStartInfo("bash", [script]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(1_200_000)) { p.Kill(true); return (null, "building the PowerShell disk took over 20 minutes"); }
        string image = Path.Combine(stdout.Result.Trim(), "hs-pwsh.img");
        return p.ExitCode == 0 && File.Exists(image) ? (image, "") : (null, $"the PowerShell disk could not be built (exit {p.ExitCode}): {stderr.Result.Trim()}");
    }
}
