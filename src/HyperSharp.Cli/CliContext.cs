namespace HyperSharp.Cli;

/// <summary>Where a command reads and writes: the console for `hyper`, buffers for in-process tests.</summary>
public sealed class CliContext
{
    public required TextWriter Out { get; init; }
    public required TextWriter Error { get; init; }
    /// <summary>Raw standard input (for `vhd write`).</summary>
    public required Func<Stream> OpenStdin { get; init; }
    /// <summary>Raw standard output (for `vhd read`, which emits binary).</summary>
    public required Func<Stream> OpenStdout { get; init; }
    /// <summary>Draw progress bars: only when stderr is a terminal, so logs and pipes stay clean.</summary>
    public bool ShowProgress { get; init; }
    /// <summary>HYPER_DEBUG=1: errors print their stack trace too.</summary>
    public bool Debug { get; init; }

    public static CliContext FromConsole() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        OpenStdin = Console.OpenStandardInput,
        OpenStdout = Console.OpenStandardOutput,
        ShowProgress = !Console.IsErrorRedirected,
        Debug = Environment.GetEnvironmentVariable("HYPER_DEBUG") == "1",
    };
}
