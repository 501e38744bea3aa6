using HyperSharp.Host;
using HyperSharp.Web;

namespace HyperSharp.Cli.Host;

/// <summary>`hyper host --web ADDRESS:PORT`: the web console beside the host service, in the same process.</summary>
internal static class WebConsoleCommand
{
    /// <summary>The --web address, checked before the host starts (null: no web console).</summary>
    public static System.Net.IPEndPoint? ParseListen(string? text, string? tlsDirectory)
    {
        if (text is null) return null;
        try { return WebConsoleOptions.ParseListen(text, tls: tlsDirectory is not null); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
    }

    /// <summary>Starts the console and prints how to reach it; disposing stops it (before the host goes).</summary>
    public static IDisposable? Start(System.Net.IPEndPoint? listen, HostServer server, HostServerOptions options)
    {
        if (listen is null) return null;
        var console = WebConsole.StartAsync(new WebConsoleOptions
        {
            Listen = listen, InventoryRoot = options.InventoryRoot, TlsDirectory = options.TlsDirectory, Log = line => options.Log($"web: {line}"),
        }, server).GetAwaiter().GetResult();
        options.Log(options.TlsDirectory is { } tls
            ? $"web console at {console.Address} for browsers with a client certificate from {tls} (client.crt/client.key; `hyper host certs`)"
            : $"web console at {console.Address} — log in with {console.LoginAddress} (the token is also in {Path.Combine(options.InventoryRoot, HyperSharp.Web.Access.AccessToken.FileName)})");
        return new Stop(console);
    }

    private sealed class Stop(WebConsole console) : IDisposable
    {
        public void Dispose() => console.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
