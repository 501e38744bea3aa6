using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace HyperSharp.Integration.Protocol;

/// <summary>One frame as read: its type, the request it belongs to, and its payload (valid until the next read).</summary>
public readonly record struct Frame(MessageType Type, uint RequestId, ReadOnlyMemory<byte> Payload)
{
    public T Decode<T>(JsonTypeInfo<T> type) where T : class
    {
        try { return JsonSerializer.Deserialize(Payload.Span, type) ?? throw new ProtocolException($"{Type}: empty message"); }
        catch (JsonException e) { throw new ProtocolException($"{Type}: malformed message ({e.Message})"); }
    }
}

/// <summary>The peer broke the protocol (a frame too long, a malformed message, a version mismatch).</summary>
public sealed class ProtocolException(string message) : Exception(message);

/// <summary>
/// Frames over a byte stream (a vsock connection): a 12-byte little-endian header — payload length (u32), type (u16),
/// reserved (u16, zero), request id (u32) — then the payload. Lengths are checked before anything is read, so a hostile
/// peer cannot make the reader allocate; one reusable buffer per channel. Writes from many threads are serialized.
/// </summary>
public sealed class FrameChannel(Stream stream) : IAsyncDisposable
{
    public const int HeaderSize = 12;
    /// <summary>The largest payload either side sends or accepts.</summary>
    public const int MaxPayload = 256 * 1024;
    /// <summary>Data frames (file bytes, exec streams) are cut to this size, so control frames are never far behind.</summary>
    public const int DataChunk = 60 * 1024;

    private readonly byte[] _read = new byte[HeaderSize + MaxPayload];
    private readonly byte[] _write = new byte[HeaderSize + MaxPayload];
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public Stream Stream => stream;

    /// <summary>The next frame, or null at a clean end of stream.</summary>
    public async ValueTask<Frame?> ReadAsync(CancellationToken cancel = default)
    {
        if (!await FillAsync(_read.AsMemory(0, HeaderSize), cancel, allowEnd: true).ConfigureAwait(false)) return null;
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(_read);
        var type = (MessageType)BinaryPrimitives.ReadUInt16LittleEndian(_read.AsSpan(4));
        ushort reserved = BinaryPrimitives.ReadUInt16LittleEndian(_read.AsSpan(6));
        uint id = BinaryPrimitives.ReadUInt32LittleEndian(_read.AsSpan(8));
        if (length > MaxPayload) throw new ProtocolException($"a frame of {length} bytes (type {(ushort)type}): at most {MaxPayload}");
        if (reserved != 0) throw new ProtocolException($"a frame header with reserved bits 0x{reserved:X4} set");
        await FillAsync(_read.AsMemory(HeaderSize, (int)length), cancel, allowEnd: false).ConfigureAwait(false);
        return new Frame(type, id, _read.AsMemory(HeaderSize, (int)length));
    }

    private async ValueTask<bool> FillAsync(Memory<byte> into, CancellationToken cancel, bool allowEnd)
    {
        int have = 0;
        while (have < into.Length)
        {
            int n = await stream.ReadAsync(into[have..], cancel).ConfigureAwait(false);
            if (n == 0)
            {
                if (allowEnd && have == 0) return false;
                throw new EndOfStreamException($"the connection ended inside a frame ({have} of {into.Length} bytes)");
            }
            have += n;
        }
        return true;
    }

    public async ValueTask SendAsync<T>(MessageType type, uint requestId, T message, JsonTypeInfo<T> info, CancellationToken cancel = default)
    {
        await _writeLock.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            int length;
            using (var json = new Utf8JsonWriter(new FixedBufferWriter(_write, HeaderSize)))
            {
                JsonSerializer.Serialize(json, message, info);
                json.Flush();
                length = (int)json.BytesCommitted;
            }
            await WriteLockedAsync(type, requestId, length, cancel).ConfigureAwait(false);
        }
        finally { _writeLock.Release(); }
    }

    /// <summary>A frame with no payload, or raw bytes (file data, exec streams) of at most <see cref="MaxPayload"/>.</summary>
    public async ValueTask SendAsync(MessageType type, uint requestId, ReadOnlyMemory<byte> data = default, CancellationToken cancel = default)
    {
        if (data.Length > MaxPayload) throw new ArgumentOutOfRangeException(nameof(data), $"{data.Length} bytes in one frame: at most {MaxPayload}");
        await _writeLock.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            data.Span.CopyTo(_write.AsSpan(HeaderSize));
            await WriteLockedAsync(type, requestId, data.Length, cancel).ConfigureAwait(false);
        }
        finally { _writeLock.Release(); }
    }

    public ValueTask SendErrorAsync(uint requestId, string message, CancellationToken cancel = default) =>
        SendAsync(MessageType.Error, requestId, new ErrorMessage(message), ProtocolJson.Default.ErrorMessage, cancel);

    private async ValueTask WriteLockedAsync(MessageType type, uint requestId, int length, CancellationToken cancel)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_write, (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(_write.AsSpan(4), (ushort)type);
        BinaryPrimitives.WriteUInt16LittleEndian(_write.AsSpan(6), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(_write.AsSpan(8), requestId);
        await stream.WriteAsync(_write.AsMemory(0, HeaderSize + length), cancel).ConfigureAwait(false);
        await stream.FlushAsync(cancel).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => stream.DisposeAsync();

    /// <summary>Lets the JSON writer fill the send buffer after the header's place, refusing to grow past it.</summary>
    private sealed class FixedBufferWriter(byte[] buffer, int start) : System.Buffers.IBufferWriter<byte>
    {
        private int _position = start;

        public void Advance(int count) => _position += count;

        public Memory<byte> GetMemory(int sizeHint = 0) => Room(sizeHint) is var n ? buffer.AsMemory(_position, n) : default;

        public Span<byte> GetSpan(int sizeHint = 0) => buffer.AsSpan(_position, Room(sizeHint));

        private int Room(int sizeHint)
        {
            int room = buffer.Length - _position;
            if (room < Math.Max(sizeHint, 1)) throw new ProtocolException($"a message larger than {MaxPayload} bytes");
            return room;
        }
    }
}
