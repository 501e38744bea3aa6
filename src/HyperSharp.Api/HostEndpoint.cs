using System.Net.Sockets;
using Grpc.Net.Client;

namespace HyperSharp.Api;

/// <summary>
/// Where a client finds `hyper host` and how it connects: a Unix socket on this machine (the only
/// transport today; mutual TLS over TCP for remote hosts comes with clustering). Every client — the
/// CLI, the PowerShell module, tests — connects through here so they agree on the default path and
/// the environment override.
/// </summary>
public static class HostEndpoint
{
    /// <summary>The socket `hyper host` listens on unless told otherwise.</summary>
    public const string DefaultSocketPath = "/run/hypersharp/host.sock";

    /// <summary>Environment variable that points clients (and a host started without --socket) elsewhere.</summary>
    public const string SocketEnvironmentVariable = "HYPERSHARP_HOST_SOCKET";

    /// <summary>Trailer key on INVALID_ARGUMENT errors naming the request parameter that was wrong.</summary>
    public const string ParameterTrailer = "hypersharp-parameter";

    /// <summary>The socket path to use: the explicit one, else the environment's, else the default.</summary>
    public static string ResolveSocketPath(string? explicitPath = null)
    {
        if (!string.IsNullOrEmpty(explicitPath)) return explicitPath;
        var fromEnvironment = Environment.GetEnvironmentVariable(SocketEnvironmentVariable);
        return string.IsNullOrEmpty(fromEnvironment) ? DefaultSocketPath : fromEnvironment;
    }

    /// <summary>
    /// A channel to the host on <paramref name="socketPath"/>. gRPC needs an http:// address even over
    /// a Unix socket; the host part is ignored because every connection goes to the socket.
    /// </summary>
    public static GrpcChannel Connect(string? socketPath = null)
    {
        var path = ResolveSocketPath(socketPath);
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch (SocketException e)
                {
                    socket.Dispose();
                    throw new HostUnavailableException(path, e);
                }
            },
            // Event feeds and consoles stay open for hours; keep the connection alive across idle periods.
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            EnableMultipleHttp2Connections = true,
        };
        return GrpcChannel.ForAddress("http://hyper-host", new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        });
    }
}

/// <summary>The host service is not reachable on its socket: not running, or no permission.</summary>
public sealed class HostUnavailableException(string socketPath, SocketException inner)
    : IOException(Describe(socketPath, inner), inner)
{
    public string SocketPath { get; } = socketPath;

    private static string Describe(string path, SocketException e) => e.SocketErrorCode switch
    {
        SocketError.AddressNotAvailable or SocketError.ConnectionRefused =>
            $"no HyperSharp host service is listening on {path}: start it with `hyper host` (or set {HostEndpoint.SocketEnvironmentVariable})",
        SocketError.AccessDenied =>
            $"permission denied on {path}: the host socket is for root and the hypersharp group only",
        _ => $"cannot connect to the HyperSharp host service on {path}: {e.Message}",
    };
}
