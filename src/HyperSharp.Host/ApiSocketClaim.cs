using System.Net.Sockets;
using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;

namespace HyperSharp.Host;

/// <summary>
/// The API socket's path belongs to one host at a time. The host holds SOCKET.lock (an flock the kernel drops however
/// the process ends) for as long as it serves, so two hosts started at once cannot both pass; then a socket file found
/// at the path is probed: one that answers is another host's (or another program's) and the new host refuses to
/// start; one nobody listens on is what a killed host left, and is replaced; anything that is not a socket is left
/// alone. On the way out the host unlinks the socket only if the file there is still the one it bound.
/// </summary>
internal sealed class ApiSocketClaim : IDisposable
{
    private readonly FileStream _lock;
    private (ulong Device, ulong Inode)? _bound;

    private ApiSocketClaim(string socketPath, FileStream lockFile)
    {
        SocketPath = socketPath;
        _lock = lockFile;
    }

    public string SocketPath { get; }

    public static ApiSocketClaim Take(string socketPath)
    {
        string lockPath = socketPath + ".lock";
        FileStream lockFile;
        try { lockFile = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException e) { throw new IOException($"another hyper host is already serving {socketPath} ({lockPath} is locked)", e); }
        try
        {
            ClearStale(socketPath);
            return new ApiSocketClaim(socketPath, lockFile);
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    /// <summary>Binds and listens on the path: the descriptor for the server, and the file remembered, to unlink that one only.</summary>
    public ulong Listen()
    {
        int fd = UnixListener.Listen(SocketPath);
        _bound = FileStatus.Of(SocketPath, followLinks: false)?.Identity;
        return (ulong)fd;
    }

    public void Dispose()
    {
        if (_bound is { } ours && FileStatus.Of(SocketPath, followLinks: false)?.Identity == ours) File.Delete(SocketPath);
        _lock.Dispose();
    }

    private static void ClearStale(string socketPath)
    {
        if (FileStatus.Of(socketPath, followLinks: false) is not { } status) return;
        if (status.Kind != FileKind.Socket)
            throw new IOException($"{socketPath} exists and is not a socket ({FileStatus.Describe(status.Kind)}); remove it or give the host another --socket");
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(socketPath));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            File.Delete(socketPath); // nobody listens: a host that died left it
            return;
        }
        catch (SocketException e)
        {
            throw new IOException($"{socketPath} is a socket this host cannot probe ({e.Message}); it is left alone: give the host another --socket", e);
        }
        throw new IOException($"a process is already serving {socketPath} (another hyper host?); stop it or give this host another --socket");
    }
}
