using System.Buffers.Binary;

namespace HyperSharp.Machine.Tests.Migration;

/// <summary>
/// The source's end of a link that is cut just before a frame of one kind: everything before it is delivered, then the
/// connection is cut (<c>cut</c>) and the write fails. Reads pass through. Follows the stream as the protocol lays it out: a preamble
/// (8 bytes magic, u32 version, u16 length L, L bytes), then frames (u16 kind, u16, u32 payload length, u32 CRC, payload).
/// </summary>
internal sealed class CutBeforeFrameStream(Stream inner, ushort kind, Action cut) : Stream
{
    private const int PreambleFixed = 14, FrameHeader = 12;
    private readonly List<byte> _unread = [];
    private long _passing;
    private bool _preambleSeen, _cut;

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_cut) throw new IOException("the link is cut");
        _unread.AddRange(buffer);
        while (true)
        {
            if (_passing > 0)
            {
                int n = (int)Math.Min(_passing, _unread.Count);
                if (n == 0) return;
                inner.Write([.. _unread.GetRange(0, n)]);
                _unread.RemoveRange(0, n);
                _passing -= n;
                continue;
            }
            var head = _unread.ToArray().AsSpan();
            if (!_preambleSeen)
            {
                if (head.Length < PreambleFixed) return;
                _passing = PreambleFixed + BinaryPrimitives.ReadUInt16LittleEndian(head[12..]);
                _preambleSeen = true;
                continue;
            }
            if (head.Length < FrameHeader) return;
            if (BinaryPrimitives.ReadUInt16LittleEndian(head) == kind)
            {
                _cut = true;
                inner.Flush();
                cut();
                throw new IOException($"the link was cut before frame kind {kind}");
            }
            _passing = FrameHeader + BinaryPrimitives.ReadUInt32LittleEndian(head[4..]);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancel) { Write(buffer.AsSpan(offset, count)); return Task.CompletedTask; }
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancel = default) { Write(buffer.Span); return ValueTask.CompletedTask; }
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override int Read(Span<byte> buffer) => inner.Read(buffer);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancel = default) => inner.ReadAsync(buffer, cancel);
    public override void Flush() { if (!_cut) inner.Flush(); }
    protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
