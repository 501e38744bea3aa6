using System.Net;

namespace HyperSharp.Web;

/// <summary>Where the web console listens and where it keeps its access token.</summary>
public sealed record WebConsoleOptions
{
    /// <summary>The address and port to serve on; without <see cref="TlsDirectory"/> a loopback address only (the token travels in clear over plain HTTP).</summary>
    public required IPEndPoint Listen { get; init; }

    /// <summary>
    /// The host's trust files (ca.crt, host.crt, host.key): the console is then served over HTTPS to browsers showing a
    /// client certificate the host's authority signed, as the API's TLS endpoint is; null: plain HTTP with the token.
    /// </summary>
    public string? TlsDirectory { get; init; }

    /// <summary>The host's inventory root: the token is written to ROOT/web-token, readable by the host's user only.</summary>
    public required string InventoryRoot { get; init; }

    /// <summary>How often the usage charts' sampler looks at each running VM (an hour of looks is kept per VM: 720 at 5 s).</summary>
    public TimeSpan UsageInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Where the console's notices go (the address to open, refused logins).</summary>
    public Action<string> Log { get; init; } = _ => { };

    /// <summary>
    /// Parses `--web ADDRESS:PORT`; without TLS an address that is not a loopback one is refused, saying why: the token
    /// must not cross a network in clear.
    /// </summary>
    public static IPEndPoint ParseListen(string text, bool tls, string option = "--web")
    {
        // Port 0 is allowed: the system picks a free one, and the address the host prints says which.
        if (!text.Contains(':', StringComparison.Ordinal) || !IPEndPoint.TryParse(text, out var endpoint))
            throw new ArgumentException($"{option} {text}: give ADDRESS:PORT, e.g. 127.0.0.1:8080 or [::1]:8080");
        if (!tls && !IPAddress.IsLoopback(endpoint.Address))
            throw new ArgumentException($"{option} {text}: without --tls-dir the web console serves loopback addresses only (127.0.0.1, [::1]); give --tls-dir to serve it over HTTPS with client certificates");
        return endpoint;
    }
}
