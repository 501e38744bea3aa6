namespace HyperSharp.Cli.Tests;

/// <summary>What one `hyper` invocation produced.</summary>
public sealed record HyperResult(int Exit, string Out, string Error, byte[] Binary);

/// <summary>Runs `hyper` in-process against buffers (stdin, text and binary stdout, stderr).</summary>
public static class Hyper
{
    public static HyperResult Run(params string[] args) => RunWithInput(null, args);

    public static HyperResult RunWithInput(byte[]? stdin, params string[] args) => RunCore(stdin, false, args);

    /// <summary>As if stderr were a terminal: progress bars are drawn.</summary>
    public static HyperResult RunOnTerminal(params string[] args) => RunCore(null, true, args);

    private static HyperResult RunCore(byte[]? stdin, bool terminal, string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var binary = new KeptStream();
        var context = new CliContext
        {
            Out = output,
            Error = error,
            OpenStdin = () => new MemoryStream(stdin ?? []),
            OpenStdout = () => binary,
            ShowProgress = terminal,
        };
        int exit = Program.Run(args, context);
        return new HyperResult(exit, output.ToString(), error.ToString(), binary.ToArray());
    }

    /// <summary>A memory stream whose bytes survive the command disposing it.</summary>
    private sealed class KeptStream : MemoryStream
    {
        protected override void Dispose(bool disposing) { }
    }
}

/// <summary>A scratch directory removed when the test ends.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hs-cli-" + Guid.NewGuid().ToString("N")[..12]);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, true); } catch (IOException) { }
    }
}
