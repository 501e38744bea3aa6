using System.Collections.Concurrent;
using System.Net;
using Grpc.Net.Client;
using HyperSharp.Api;

namespace HyperSharp.PowerShell;

/// <summary>
/// How the cmdlets find the host. Order: the session variable <c>$HyperSharpHostSocket</c> (so one
/// runspace can talk to another host than the rest of the process — tests do), then the
/// HYPERSHARP_HOST_SOCKET environment variable, then /run/hypersharp/host.sock (<see cref="HostEndpoint"/>).
/// -ComputerName takes only this machine's names: remote hosts need mutual TLS, which comes with clustering.
/// One channel per socket path is kept for the process: HTTP/2 connections are reused across cmdlets.
/// </summary>
internal static class HostConnection
{
    public const string SocketVariable = "HyperSharpHostSocket";

    private static readonly ConcurrentDictionary<string, GrpcChannel> Channels = new(StringComparer.Ordinal);

    public static GrpcChannel For(string socketPath) => Channels.GetOrAdd(socketPath, path => HostEndpoint.Connect(path));

    /// <summary>True for the names this machine answers to.</summary>
    public static bool IsLocal(string computerName)
    {
        if (computerName is "." or "localhost" or "127.0.0.1" or "::1") return true;
        if (string.Equals(computerName, Environment.MachineName, StringComparison.OrdinalIgnoreCase)) return true;
        try { return string.Equals(computerName, Dns.GetHostName(), StringComparison.OrdinalIgnoreCase); }
        catch (System.Net.Sockets.SocketException) { return false; }
    }
}
