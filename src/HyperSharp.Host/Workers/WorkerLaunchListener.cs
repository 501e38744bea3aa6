using System.Net.Sockets;
using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;

namespace HyperSharp.Host.Workers;

/// <summary>
/// The socket a host listens on while it launches a worker (the VM folder's launch.sock, private to the host's user):
/// the worker connects as it starts, and the connection becomes its report channel. Only the launched process is taken
/// (by the kernel's record of who connected); the socket goes once it has connected.
/// </summary>
public sealed class WorkerLaunchListener : IDisposable
{
    private readonly Socket _socket;
    private readonly string _path;

    private WorkerLaunchListener(Socket socket, string path) => (_socket, _path) = (socket, path);

    public static WorkerLaunchListener Open(string path)
    {
        try { File.Delete(path); } catch (IOException) { } // one left by a host that died while launching
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            Posix.SetMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            socket.Listen(4);
            return new WorkerLaunchListener(socket, path);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new IOException($"cannot listen on {path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The channel of the worker <paramref name="pid"/> once it connects; null if its process ends first
    /// (<paramref name="processExited"/>) or <paramref name="timeout"/> passes.
    /// </summary>
    public async Task<WorkerChannel?> AcceptAsync(int pid, Task processExited, TimeSpan timeout)
    {
        using var giveUp = new CancellationTokenSource(timeout);
        while (true)
        {
            var accepting = _socket.AcceptAsync(giveUp.Token).AsTask();
            if (await Task.WhenAny(accepting, processExited).ConfigureAwait(false) != accepting)
            {
                await giveUp.CancelAsync().ConfigureAwait(false);
                try { (await accepting.ConfigureAwait(false)).Dispose(); } catch (Exception e) when (e is OperationCanceledException or SocketException) { }
                return null;
            }
            Socket connection;
            try { connection = await accepting.ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or SocketException) { return null; }
            if (PeerCredentials.Of(connection).Pid == pid) return new WorkerChannel(connection);
            connection.Dispose(); // not the process this host launched
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        try { File.Delete(_path); } catch (IOException) { }
    }
}
