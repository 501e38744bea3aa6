using System.Net.Sockets;

namespace HyperSharp.Guest.Linux;

/// <summary>
/// A stream over a connected vsock socket. NetworkStream will not take it: the BCL cannot read back an AF_VSOCK peer
/// address, so it never marks such a socket Connected; Socket's own send and receive work all the same.
/// Its asynchronous calls block and complete synchronously, by design: the session's reader is the one loop that waits
/// on this socket, so it simply sleeps in recv(2) on its own thread. Going through the runtime's epoll thread and thread
/// pool instead cost a thread hand-off per packet, which in a guest on the Emulated backend (where the guest kernel's
/// scheduler is interpreted too) cut copy throughput several-fold.
/// </summary>
internal sealed class SocketStream(Socket socket) : Stream
{
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Wrap(() => socket.Receive(buffer, offset, count, SocketFlags.None));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancel = default)
    {
        try { return ValueTask.FromResult(socket.Receive(buffer.Span, SocketFlags.None)); }
        catch (SocketException e) { return ValueTask.FromException<int>(new IOException(e.Message, e)); }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancel) => ReadAsync(buffer.AsMemory(offset, count), cancel).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        while (count > 0)
        {
            int n = Wrap(() => socket.Send(buffer, offset, count, SocketFlags.None));
            offset += n;
            count -= n;
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancel = default)
    {
        try
        {
            var span = buffer.Span;
            while (!span.IsEmpty) span = span[socket.Send(span, SocketFlags.None)..];
            return ValueTask.CompletedTask;
        }
        catch (SocketException e) { return ValueTask.FromException(new IOException(e.Message, e)); }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancel) => WriteAsync(buffer.AsMemory(offset, count), cancel).AsTask();

    /// <summary>Ends the sending direction (shutdown(2) SHUT_WR): the peer reads what was sent, then the end of the stream.</summary>
    public void ShutdownSend()
    {
        try { socket.Shutdown(SocketShutdown.Send); }
        catch (SocketException) { } // already reset: nothing left to deliver
    }

    public override void Flush() { }

    public override Task FlushAsync(CancellationToken cancel) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private static int Wrap(Func<int> io)
    {
        try { return io(); }
        catch (SocketException e) { throw new IOException(e.Message, e); }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) socket.Dispose();
        base.Dispose(disposing);
    }
}
