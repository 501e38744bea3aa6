using System.Net.Sockets;

namespace HyperSharp.Guest.Linux;

/// <summary>
/// A stream over a connected vsock socket. NetworkStream will not take it: the BCL cannot read back an AF_VSOCK peer
/// address, so it never marks such a socket Connected; Socket's own send and receive work all the same.
/// </summary>
internal sealed class SocketStream(Socket socket) : Stream
{
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Wrap(() => socket.Receive(buffer, offset, count, SocketFlags.None));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancel = default)
    {
        try { return await socket.ReceiveAsync(buffer, SocketFlags.None, cancel).ConfigureAwait(false); }
        catch (SocketException e) { throw new IOException(e.Message, e); }
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

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancel = default)
    {
        try
        {
            while (!buffer.IsEmpty) buffer = buffer[await socket.SendAsync(buffer, SocketFlags.None, cancel).ConfigureAwait(false)..];
        }
        catch (SocketException e) { throw new IOException(e.Message, e); }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancel) => WriteAsync(buffer.AsMemory(offset, count), cancel).AsTask();

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
