using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace HyperSharp.Web.Tests;

/// <summary>The built `hyper` (hyper.dll beside the tests) as its own process, its output lines kept and shown to the test.</summary>
internal static class HyperProcess
{
    /// <param name="prefix">what runs it, e.g. `ip netns exec NS` (nothing: dotnet itself); it must exec, so the PID is hyper's</param>
    /// <param name="onLine">sees each line of output as it comes</param>
    public static Process Start(ITestOutputHelper output, string[] prefix, string[] arguments, out StringBuilder log, Action<string>? onLine = null)
    {
        string[] command = [.. prefix, "dotnet", Path.Combine(AppContext.BaseDirectory, "hyper.dll"), .. arguments];
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in command[1..]) psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        var lines = new StringBuilder();
        void Line(object _, DataReceivedEventArgs e)
        {
            if (e.Data is null) return;
            lock (lines) lines.AppendLine(e.Data);
            try { output.WriteLine(e.Data); } catch (InvalidOperationException) { }
            onLine?.Invoke(e.Data);
        }
        process.ErrorDataReceived += Line;
        process.OutputDataReceived += Line;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        log = lines;
        return process;
    }
}
