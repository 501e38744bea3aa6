using System.Buffers.Binary;
using System.Text;
using HyperSharp.Vhdx.Vhdx;
using static HyperSharp.Machine.Migration.MigrationProtocol;

namespace HyperSharp.Machine.Migration;

/// <summary>
/// One side of a migration stream (see <see cref="MigrationProtocol"/>): the preambles, then checksummed frames, each written
/// with one call to the stream. A stream that ends early, fails, or delivers a damaged frame is a <see cref="MigrationException"/>
/// that says so; an Abort from the peer is one that carries the peer's reason.
/// </summary>
internal sealed class MigrationChannel(Stream stream, string peer)
{
    private byte[] _out = new byte[FrameHeaderSize + 8 + MaxRunPages * Page];
    private byte[] _in = new byte[FrameHeaderSize + 8 + MaxRunPages * Page];

    /// <summary>Bytes written so far, preamble included.</summary>
    public long BytesSent { get; private set; }

    /// <summary>Who the other side is, as errors name it ("the destination", "the source").</summary>
    public string Peer => peer;

    /// <summary>The preamble: magic, protocol version, this build.</summary>
    public void SendPreamble()
    {
        byte[] build = Encoding.UTF8.GetBytes(State.StateFileFormat.ThisBuild);
        var preamble = new byte[14 + build.Length];
        Magic.CopyTo(preamble);
        BinaryPrimitives.WriteUInt32LittleEndian(preamble.AsSpan(8), ProtocolVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(preamble.AsSpan(12), (ushort)build.Length);
        build.CopyTo(preamble.AsSpan(14));
        Write(preamble);
    }

    /// <summary>The peer's preamble: its protocol version and build. Not a migration stream at all is refused here.</summary>
    public async Task<(uint Version, string Build)> ReceivePreambleAsync(CancellationToken cancel)
    {
        var start = new byte[14];
        await ReadAsync(start, "its preamble", cancel);
        if (!start.AsSpan(0, 8).SequenceEqual(Magic))
            throw new MigrationException($"{peer} is not speaking HyperSharp's migration protocol (no \"HSVMMIGR\" preamble; it sent 0x{Convert.ToHexString(start, 0, 8)})");
        var build = new byte[BinaryPrimitives.ReadUInt16LittleEndian(start.AsSpan(12))];
        await ReadAsync(build, "its preamble", cancel);
        return (BinaryPrimitives.ReadUInt32LittleEndian(start.AsSpan(8)), Encoding.UTF8.GetString(build));
    }

    public void Send(Kind kind, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxPayload) throw new InvalidOperationException($"a {kind} frame of {payload.Length} bytes is more than a frame holds");
        if (_out.Length < FrameHeaderSize + payload.Length) _out = new byte[FrameHeaderSize + payload.Length];
        payload.CopyTo(_out.AsSpan(FrameHeaderSize));
        SendBuffered(kind, payload.Length);
    }

    public void Send(Kind kind, string text) => Send(kind, Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// A Pages frame: <paramref name="pages"/> (guest memory, which the guest may be writing) is copied first and the copy
    /// checksummed and sent, so a page changing under us is sent whole as it was at one moment, never with a wrong checksum.
    /// </summary>
    public void SendPages(ulong offset, ReadOnlySpan<byte> pages)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_out.AsSpan(FrameHeaderSize), offset);
        pages.CopyTo(_out.AsSpan(FrameHeaderSize + 8));
        SendBuffered(Kind.Pages, 8 + pages.Length);
    }

    private void SendBuffered(Kind kind, int payloadLength)
    {
        WriteFrameHeader(_out, kind, payloadLength);
        uint crc = Crc32C.Append(Crc32C.Compute(_out.AsSpan(0, 8)), _out.AsSpan(FrameHeaderSize, payloadLength));
        BinaryPrimitives.WriteUInt32LittleEndian(_out.AsSpan(8), crc);
        Write(_out.AsSpan(0, FrameHeaderSize + payloadLength));
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        try { stream.Write(bytes); }
        catch (IOException e) { throw new MigrationException($"the connection to {peer} failed while sending: {e.Message}", e); }
        catch (ObjectDisposedException e) { throw new MigrationException($"the connection to {peer} is closed", e); }
        BytesSent += bytes.Length;
    }

    public void Flush()
    {
        try { stream.Flush(); }
        catch (IOException e) { throw new MigrationException($"the connection to {peer} failed while sending: {e.Message}", e); }
    }

    /// <summary>
    /// The next frame, checked; its payload is valid until the next call. An Abort is thrown as the peer's reason;
    /// <paramref name="expecting"/> names what was awaited, for the error when the stream ends instead.
    /// </summary>
    public async Task<(Kind Kind, ReadOnlyMemory<byte> Payload)> ReceiveAsync(string expecting, CancellationToken cancel)
    {
        await ReadAsync(_in.AsMemory(0, FrameHeaderSize), expecting, cancel);
        var kind = (Kind)BinaryPrimitives.ReadUInt16LittleEndian(_in);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(_in.AsSpan(4));
        if (length > MaxPayload || BinaryPrimitives.ReadUInt16LittleEndian(_in.AsSpan(2)) != 0)
            throw new MigrationException($"the stream from {peer} is damaged: a frame header (kind {(ushort)kind}, length {length}) is not plausible, waiting for {expecting}");
        if (_in.Length < FrameHeaderSize + length)
        {
            var bigger = new byte[FrameHeaderSize + length];
            _in.AsSpan(0, FrameHeaderSize).CopyTo(bigger);
            _in = bigger;
        }
        await ReadAsync(_in.AsMemory(FrameHeaderSize, (int)length), expecting, cancel);
        uint crc = Crc32C.Append(Crc32C.Compute(_in.AsSpan(0, 8)), _in.AsSpan(FrameHeaderSize, (int)length));
        if (crc != BinaryPrimitives.ReadUInt32LittleEndian(_in.AsSpan(8)))
            throw new MigrationException($"the stream from {peer} is damaged: a {kind} frame of {length} bytes fails its checksum, waiting for {expecting}");
        var payload = _in.AsMemory(FrameHeaderSize, (int)length);
        if (kind == Kind.Abort) throw new MigrationException($"{peer} abandoned the migration: {Encoding.UTF8.GetString(payload.Span)}");
        return (kind, payload);
    }

    /// <summary>The next frame, which must be <paramref name="kind"/>.</summary>
    public async Task<ReadOnlyMemory<byte>> ReceiveAsync(Kind kind, string expecting, CancellationToken cancel)
    {
        var (got, payload) = await ReceiveAsync(expecting, cancel);
        if (got == Kind.Refuse) throw new MigrationException($"{peer} refused the migration: {Encoding.UTF8.GetString(payload.Span)}");
        if (got != kind) throw new MigrationException($"{peer} sent a {got} frame where {expecting} ({kind}) belongs: the stream is out of step");
        return payload;
    }

    private async Task ReadAsync(Memory<byte> into, string expecting, CancellationToken cancel)
    {
        try { await stream.ReadExactlyAsync(into, cancel); }
        catch (EndOfStreamException e) { throw new MigrationException($"the stream from {peer} ended while waiting for {expecting}: the peer closed the connection or failed", e); }
        catch (IOException e) { throw new MigrationException($"the connection to {peer} failed while waiting for {expecting}: {e.Message}", e); }
        catch (ObjectDisposedException e) { throw new MigrationException($"the connection to {peer} is closed (waiting for {expecting})", e); }
    }

    /// <summary>
    /// Tells the peer why we stop, if the stream still takes it, and closes the stream: a peer still writing then fails at
    /// once instead of filling a connection nobody reads. The migration fails either way.
    /// </summary>
    public void Abort(string reason)
    {
        try { Send(Kind.Abort, reason); Flush(); }
        catch (MigrationException) { }
        catch (IOException) { }
        finally { stream.Dispose(); }
    }
}
