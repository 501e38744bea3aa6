using System.Diagnostics;

namespace HyperSharp.PowerShell.Tests;

/// <summary>qemu-img as an independent witness of the files the cmdlets produce, when the host has it.</summary>
public static class QemuImg
{
    private const string Binary = "/usr/bin/qemu-img";

    public const string MissingReason = "qemu-img is not installed (Debian package qemu-utils; eng/install-test-deps.sh installs it): peer check skipped";

    public static bool Available => File.Exists(Binary);

    /// <summary>Runs `qemu-img check` on an image of the given format; returns its exit code and output.</summary>
    public static Task<(int ExitCode, string Output)> CheckAsync(string path, string format) => RunAsync("check", "-f", format, path);

    /// <summary>Runs qemu-img with arguments; returns its exit code and output (the process is killed on a timeout).</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        var psi = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try { await p.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { p.Kill(); throw new TimeoutException("qemu-img did not finish in 60 s: " + string.Join(" ", args)); }
        return (p.ExitCode, await stdout + await stderr);
    }
}
