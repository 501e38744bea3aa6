using System.Diagnostics;

namespace HyperSharp.PowerShell.Tests;

/// <summary>qemu-img as an independent witness of the files the cmdlets produce, when the host has it.</summary>
public static class QemuImg
{
    private const string Binary = "/usr/bin/qemu-img";

    public const string MissingReason = "qemu-img is not installed (Debian package qemu-utils; eng/install-test-deps.sh installs it): peer check skipped";

    public static bool Available => File.Exists(Binary);

    /// <summary>Runs `qemu-img check` on an image of the given format; returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> CheckAsync(string path, string format)
    {
        var psi = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "check", "-f", format, path }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try { await p.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { p.Kill(); throw new TimeoutException("qemu-img check did not finish in 60 s"); }
        return (p.ExitCode, await stdout + await stderr);
    }
}
