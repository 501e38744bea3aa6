using HyperSharp.Web.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace HyperSharp.Web;

/// <summary>
/// The web console of a running host: its own HTTP listener in the host's process, over the host's VmManager (no gRPC
/// in between). Started by `hyper host --web ADDRESS:PORT`, or by tests beside an in-process host.
/// </summary>
public sealed class WebConsole : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Usage.UsageSampler _usage;

    private WebConsole(WebApplication app, Usage.UsageSampler usage, AccessToken token, Uri address)
    {
        _app = app;
        _usage = usage;
        Token = token.Value;
        Address = address;
    }

    /// <summary>The address the console answers on (the port filled in when 0 was asked).</summary>
    public Uri Address { get; }

    /// <summary>The access token (also in ROOT/web-token).</summary>
    public string Token { get; }

    /// <summary>The address that logs a browser in: what `hyper host --web` prints.</summary>
    public Uri LoginAddress => new(Address, $"/login?token={Token}");

    public static async Task<WebConsole> StartAsync(WebConsoleOptions options, Host.HostServer host, CancellationToken cancellationToken = default)
    {
        var calls = new HostCalls(host.Manager, host.Migrations);
        var token = AccessToken.Create(options.InventoryRoot);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (options.TlsDirectory is not null) builder.WebHost.UseKestrelHttpsConfiguration(); // the slim builder leaves TLS out
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(options.Listen, listen =>
        {
            // HTTP/1.1 too: browsers open WebSockets (the console) over it.
            listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1AndHttp2;
            if (options.TlsDirectory is { } tls) Host.RemoteListener.UseMutualTls(listen, tls);
        }));
        var app = builder.Build();
        app.UseWebSockets();
        app.Use(async (context, next) =>
        {
            // Our pages load nothing from elsewhere; xterm.js sets element styles, hence inline styles.
            context.Response.Headers.ContentSecurityPolicy = "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
            context.Response.Headers.XContentTypeOptions = "nosniff";
            await next(context).ConfigureAwait(false);
        });
        AccessGate.Use(app, token, options.Log);
        AccessGate.MapLogin(app, token, options.Log);
        StaticAssets.Map(app);
        var usage = new Usage.UsageSampler(calls, options.UsageInterval, options.Log);
        VmEndpoints.Map(app, calls, token, usage);
        SwitchEndpoints.Map(app, calls, token);
        Usage.UsageJson.Map(app, usage);
        try { await app.StartAsync(cancellationToken).ConfigureAwait(false); }
        catch
        {
            await usage.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var bound = new Uri(app.Urls.First());
        string scheme = options.TlsDirectory is null ? "http" : "https";
        return new WebConsole(app, usage, token, new Uri($"{scheme}://{FormatHost(options.Listen.Address)}:{bound.Port}/"));
    }

    private static string FormatHost(System.Net.IPAddress address) =>
        address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _usage.DisposeAsync().ConfigureAwait(false);
    }
}
