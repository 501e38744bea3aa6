using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HyperSharp.Host;

/// <summary>
/// The running host service: the gRPC API on a Unix socket over HTTP/2 (no TLS: the socket's
/// file permissions are the access control). `hyper host` runs one; tests start one in-process.
/// </summary>
public sealed class HostServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HostServer(WebApplication app, HostServerOptions options)
    {
        _app = app;
        Options = options;
    }

    public HostServerOptions Options { get; }

    /// <summary>Starts serving; returns once the socket accepts connections.</summary>
    public static async Task<HostServer> StartAsync(HostServerOptions options, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(options.InventoryRoot);
        var socketDirectory = Path.GetDirectoryName(Path.GetFullPath(options.SocketPath));
        if (socketDirectory != null) Directory.CreateDirectory(socketDirectory);
        // A socket file left by a host that died would make the bind fail; nothing else can own it
        // because a live host holds it open and we are about to replace that host.
        if (File.Exists(options.SocketPath)) File.Delete(options.SocketPath);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.ListenUnixSocket(options.SocketPath, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddSingleton(options);
        builder.Services.AddGrpc();
        var app = builder.Build();
        MapServices(app);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return new HostServer(app, options);
    }

    /// <summary>The API services this host serves.</summary>
    private static void MapServices(WebApplication app)
    {
    }

    /// <summary>Completes when the server stops (Ctrl-C / SIGTERM for `hyper host`).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        if (File.Exists(Options.SocketPath)) File.Delete(Options.SocketPath);
    }
}
