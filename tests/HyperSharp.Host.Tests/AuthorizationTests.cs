using System.Diagnostics;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>The API socket is the access control: a user outside root and the `hypersharp` group is refused.</summary>
public class AuthorizationTests(ITestOutputHelper output)
{
    private const int Nobody = 65534;

    [Fact]
    public async Task AUserOutsideRootAndTheHypersharpGroupIsRefused()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !File.Exists("/usr/bin/setpriv")) { output.WriteLine("skipped: needs root and setpriv to act as another user"); return; }
        await using var host = await HostFixture.StartAsync(output);
        var mode = File.GetUnixFileMode(host.SocketPath);
        bool hasGroup = File.ReadLines("/etc/group").Any(l => l.StartsWith("hypersharp:", StringComparison.Ordinal));
        Assert.Equal(hasGroup ? (UnixFileMode)0b110_110_000 : (UnixFileMode)0b110_000_000, mode);

        // `hyper vm list` as nobody (not root, not in the group): the connection itself is refused.
        var psi = new ProcessStartInfo("/usr/bin/setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])[$"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "dotnet", HostFixture.WorkerCommand[1], "vm", "list", "--host-socket", host.SocketPath])
            psi.ArgumentList.Add(a);
        psi.Environment["HOME"] = "/tmp";
        psi.Environment["DOTNET_CLI_HOME"] = "/tmp";
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60))) await process.WaitForExitAsync(timeout.Token);
        output.WriteLine(await stdout + await stderr);
        Assert.Equal(1, process.ExitCode);
        Assert.Contains("permission denied", await stderr);
    }
}
