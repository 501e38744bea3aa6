using System.Diagnostics;

namespace HyperSharp.Vhdx.Tests;

/// <summary>Runs qemu-img, the independent peer our images are checked against, when the host has it.</summary>
public static class QemuImg
{
    public const string Binary = "/usr/bin/qemu-img";

    public static bool Available => File.Exists(Binary);

    public const string MissingReason = "qemu-img is not installed (Debian package qemu-utils; eng/install-test-deps.sh installs it): peer check skipped";

    /// <summary>Runs qemu-img with arguments; returns exit code and combined output. The process is waited for and never left behind.</summary>
    public static (int ExitCode, string Output) Run(params string[] args)
    {
        var psi = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(); throw new TimeoutException("qemu-img did not finish in 120 s"); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Asserts `qemu-img check` finds no error in a VHDX.</summary>
    public static void AssertClean(string path)
    {
        var (code, output) = Run("check", "-f", "vhdx", path);
        Assert.True(code == 0, $"qemu-img check failed ({code}): {output}");
    }
}
