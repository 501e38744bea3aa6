using HyperSharp.Cli;
using Xunit.Abstractions;

namespace HyperSharp.Host.Tests;

/// <summary>What one `hyper` invocation printed, and its exit code.</summary>
public sealed record CliResult(int Exit, string Out, string Error);

/// <summary>Runs `hyper` in-process against buffers, the command and its output logged to the test.</summary>
public static class CliRunner
{
    public static CliResult Run(ITestOutputHelper output, params string[] args)
    {
        var (o, e) = (new StringWriter(), new StringWriter());
        var context = new CliContext { Out = o, Error = e, OpenStdin = () => new MemoryStream(), OpenStdout = () => new MemoryStream() };
        int exit = Program.Run(args, context);
        output.WriteLine($"hyper {string.Join(' ', args)} -> {exit}\n{o}{e}");
        return new CliResult(exit, o.ToString(), e.ToString());
    }
}
