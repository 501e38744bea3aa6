using System.IO.Compression;

namespace HyperSharp.Worker.Migration;

/// <summary>
/// A connection compressed both ways (Set-VMHost -VirtualMachineMigrationPerformanceOption Compression): what is written goes
/// through zlib at its fastest level and each <see cref="Flush"/> pushes it out (a sync flush, so the peer can read every frame
/// written before it); what is read comes out of the peer's zlib stream. zlib ships with .NET: no native library to deploy.
/// </summary>
internal sealed class CompressedDuplexStream(Stream inner) : Stream
{
    private readonly ZLibStream _out = new(inner, CompressionLevel.Fastest, leaveOpen: true);
    private readonly ZLibStream _in = new(inner, CompressionMode.Decompress, leaveOpen: true);

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => _in.Read(buffer, offset, count);
    public override int Read(Span<byte> buffer) => _in.Read(buffer);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _in.ReadAsync(buffer, cancellationToken);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _in.ReadAsync(buffer, offset, count, cancellationToken);
    public override void Write(byte[] buffer, int offset, int count) => _out.Write(buffer, offset, count);
    public override void Write(ReadOnlySpan<byte> buffer) => _out.Write(buffer);

    public override void Flush()
    {
        _out.Flush();
        inner.Flush();
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // A peer that has gone makes the last flush fail: the connection closes all the same.
            try { _out.Dispose(); } catch (IOException) { } catch (ObjectDisposedException) { }
            _in.Dispose();
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
