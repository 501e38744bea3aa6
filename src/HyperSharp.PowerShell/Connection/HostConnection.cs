using System.Collections.Concurrent;
using System.Net;
using Grpc.Net.Client;
using HyperSharp.Api;

namespace HyperSharp.PowerShell;

/// <summary>
/// How the cmdlets find the host. Order: the session variable <c>$HyperSharpHostSocket</c> (so one
/// runspace can talk to another host than the rest of the process — tests do), then the
/// HYPERSHARP_HOST_SOCKET environment variable, then /run/hypersharp/host.sock (<see cref="HostEndpoint"/>).
/// A remote host (-ComputerName NAME, or HYPERSHARP_HOST_ADDRESS) is reached over mutual TLS with the trust files
/// in HYPERSHARP_TLS_DIR (see `hyper host certs`), on HYPERSHARP_HOST_PORT (default 7443).
/// One channel per socket path or address is kept for the process: HTTP/2 connections are reused across cmdlets.
/// </summary>
internal static class HostConnection
{
    public const string SocketVariable = "HyperSharpHostSocket";

    private static readonly ConcurrentDictionary<string, GrpcChannel> Channels = new(StringComparer.Ordinal);

    public static GrpcChannel For(string socketPath) => Channels.GetOrAdd(socketPath, path => HostEndpoint.Connect(path));

    public const string PortVariable = "HYPERSHARP_HOST_PORT";
    public const int DefaultPort = 7443;

    public static GrpcChannel ForRemote(Uri address) =>
        Channels.GetOrAdd(address.ToString(), _ => HostEndpoint.ConnectRemote(address, new HyperSharp.Api.Tls.TlsFiles(TlsDirectory())));

    /// <summary>https://NAME:PORT for a remote computer name; throws when no trust files are configured.</summary>
    public static Uri RemoteAddress(string computerName)
    {
        TlsDirectory();
        int port = int.TryParse(Environment.GetEnvironmentVariable(PortVariable), out int p) && p is > 0 and < 65536 ? p : DefaultPort;
        string host = IPAddress.TryParse(computerName, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : computerName;
        return new Uri($"https://{host}:{port}");
    }

    /// <summary>The remote host HYPERSHARP_HOST_ADDRESS names (as the CLI reads it), or null.</summary>
    public static Uri? RemoteFromEnvironment() =>
        Environment.GetEnvironmentVariable(HostEndpoint.AddressEnvironmentVariable) is { Length: > 0 } address ? new Uri(address) : null;

    private static string TlsDirectory() =>
        Environment.GetEnvironmentVariable(HostEndpoint.TlsDirectoryEnvironmentVariable) is { Length: > 0 } dir ? dir
            : throw new InvalidOperationException($"a remote host is reached over mutual TLS: set ${HostEndpoint.TlsDirectoryEnvironmentVariable} to the directory with ca.crt, client.crt and client.key (made by `hyper host certs` on that host)");

    /// <summary>
    /// The host of a session that names no computer: the socket <paramref name="sessionSocket"/> ($HyperSharpHostSocket)
    /// names, else HYPERSHARP_HOST_ADDRESS (a remote host), else the local socket.
    /// </summary>
    public static GrpcChannel ForSession(string? sessionSocket) =>
        sessionSocket is { Length: > 0 } ? For(HostEndpoint.ResolveSocketPath(sessionSocket))
        : RemoteFromEnvironment() is { } remote ? ForRemote(remote)
        : For(HostEndpoint.ResolveSocketPath(null));

    /// <summary>True for the names this machine answers to.</summary>
    public static bool IsLocal(string computerName)
    {
        if (computerName is "." or "localhost" or "127.0.0.1" or "::1") return true;
        if (string.Equals(computerName, Environment.MachineName, StringComparison.OrdinalIgnoreCase)) return true;
        try { return string.Equals(computerName, Dns.GetHostName(), StringComparison.OrdinalIgnoreCase); }
        catch (System.Net.Sockets.SocketException) { return false; }
    }
}
