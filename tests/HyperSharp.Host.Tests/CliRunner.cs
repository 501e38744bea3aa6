using HyperSharp.Cli;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>What one `hyper` invocation printed, and its exit code.</summary>
public sealed record CliResult(int Exit, string Out, string Error);

/// <summary>Runs `hyper` in-process against buffers, the command and its output logged to the test.</summary>
public static class CliRunner
{
    public static CliResult Run(ITestOutputHelper output, params string[] args) => RunWithInput(output, [], args);

    /// <summary>Runs `hyper` with <paramref name="stdin"/> as its standard input; what it writes to raw stdout (exec, console) lands in Out as UTF-8.</summary>
    public static CliResult RunWithInput(ITestOutputHelper output, byte[] stdin, params string[] args)
    {
        var (o, e) = (new StringWriter(), new StringWriter());
        var raw = new MemoryStream();
        var context = new CliContext { Out = o, Error = e, OpenStdin = () => new MemoryStream(stdin), OpenStdout = () => raw };
        int exit = Program.Run(args, context);
        o.Write(System.Text.Encoding.UTF8.GetString(raw.ToArray())); // readable after the command disposed it
        output.WriteLine($"hyper {string.Join(' ', args)} -> {exit}\n{o}{e}");
        return new CliResult(exit, o.ToString(), e.ToString());
    }
}
