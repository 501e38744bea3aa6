using System.Diagnostics;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>
/// `hyper` run as another user (nobody, no groups) through setpriv: what a client who is not root sees. Needs root and
/// setpriv (util-linux); tests skip, saying why, without them.
/// </summary>
public static class OtherUser
{
    public const int Nobody = 65534;

    /// <summary>Null when a test can act as another user here, else why not.</summary>
    public static string? Unavailable() =>
        !OperatingSystem.IsLinux() || Environment.UserName != "root" || !File.Exists("/usr/bin/setpriv") ? "needs root and setpriv to act as another user" : null;

    public static async Task<CliResult> HyperAsync(ITestOutputHelper output, params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])[$"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "dotnet", HostFixture.WorkerCommand[1], .. args])
            psi.ArgumentList.Add(a);
        psi.Environment["HOME"] = "/tmp";
        psi.Environment["DOTNET_CLI_HOME"] = "/tmp";
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120))) await process.WaitForExitAsync(timeout.Token);
        var result = new CliResult(process.ExitCode, await stdout, await stderr);
        output.WriteLine($"(as nobody) hyper {string.Join(' ', args)} -> {result.Exit}\n{result.Out}{result.Error}");
        return result;
    }
}
