using System.Net.Sockets;
using System.Text;
using HyperSharp.Machine.Devices;

namespace HyperSharp.Machine.Virtio.Vsock;

/// <summary>
/// The VM's vsock Unix socket, the host end people script (Firecracker's model): a host process connects, writes
/// <c>CONNECT port\n</c>, and once the guest accepts reads <c>OK hostport\n</c> followed by the stream to the guest's
/// listener on that port. A connection the guest refuses is closed without the OK. A stale socket file left by a
/// dead VM is replaced; one another live process listens on is refused.
/// </summary>
internal sealed class VsockUnixListener : IDisposable
{
    private const int MaxLine = 32;
    private static readonly TimeSpan LineTimeout = TimeSpan.FromSeconds(10);
    private readonly Socket _listener;
    private readonly string _path;
    private readonly Action<Socket, uint> _connect;
    private readonly DeviceErrorLog _refusals;
    private readonly CancellationTokenSource _stop = new();

    public VsockUnixListener(string path, Action<Socket, uint> connect, DeviceErrorLog refusals)
    {
        _path = path;
        _connect = connect;
        _refusals = refusals;
        RemoveStale(path);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            _listener.Bind(new UnixDomainSocketEndPoint(path));
            _listener.Listen(64);
        }
        catch (SocketException e)
        {
            _listener.Dispose();
            throw new IOException($"cannot listen on the vsock socket {path}: {e.Message}", e);
        }
        _ = AcceptLoopAsync();
    }

    private static void RemoveStale(string path)
    {
        if (!File.Exists(path)) return;
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            throw new IOException($"the vsock socket {path} is in use by another process (another VM?)");
        }
        catch (SocketException) { File.Delete(path); } // nobody listens: a dead VM's leftover
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            _ = HandshakeAsync(client);
        }
    }

    private async Task HandshakeAsync(Socket client)
    {
        var line = new byte[MaxLine];
        int length = 0;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(LineTimeout);
        try
        {
            // One byte at a time, so nothing after the newline (the stream's first bytes) is taken from the socket.
            while (length < MaxLine)
            {
                int n = await client.ReceiveAsync(line.AsMemory(length, 1), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (n == 0) break;
                if (line[length++] == (byte)'\n') break;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { length = 0; }
        string text = Encoding.ASCII.GetString(line, 0, length);
        if (!text.EndsWith('\n') || !text.StartsWith("CONNECT ", StringComparison.Ordinal)
            || !uint.TryParse(text.AsSpan(8).TrimEnd('\n').TrimEnd('\r'), System.Globalization.NumberStyles.None, null, out uint port))
        {
            _refusals.Report($"vsock: a host connection to {_path} did not start with \"CONNECT <port>\\n\"; closed");
            client.Dispose();
            return;
        }
        _connect(client, port);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        try { File.Delete(_path); } catch (IOException) { }
    }
}
