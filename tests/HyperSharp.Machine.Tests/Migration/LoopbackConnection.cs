using System.Net;
using System.Net.Sockets;

namespace HyperSharp.Machine.Tests.Migration;

/// <summary>Two ends of a real TCP connection over the loopback interface: what a migration streams through in these tests.</summary>
internal sealed class LoopbackConnection : IDisposable
{
    private readonly Socket _source, _destination;

    private LoopbackConnection(Socket source, Socket destination)
    {
        (_source, _destination) = (source, destination);
        Source = new NetworkStream(source, ownsSocket: false);
        Destination = new NetworkStream(destination, ownsSocket: false);
    }

    public NetworkStream Source { get; }
    public NetworkStream Destination { get; }

    public static async Task<LoopbackConnection> OpenAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var source = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accepted = listener.AcceptAsync();
        await source.ConnectAsync(listener.LocalEndPoint!);
        var destination = await accepted;
        destination.NoDelay = true;
        return new LoopbackConnection(source, destination);
    }

    /// <summary>Cuts the connection from the destination's side, as a destination host that dies would.</summary>
    public void CutAtDestination() => _destination.Close(0);

    /// <summary>Cuts the connection from the source's side, as a link that fails under the source would.</summary>
    public void CutAtSource() => _source.Close(0);

    public void Dispose()
    {
        Source.Dispose();
        Destination.Dispose();
        _source.Dispose();
        _destination.Dispose();
    }
}
