using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace HyperSharp.Hypervisor.State;

/// <summary>
/// Writes a state record's fields as little-endian binary: the one encoding of saved state, the same for
/// every device, processor and backend. Lengths precede variable-size fields; nothing is keyed by name, so a
/// record's <see cref="IStateRecord{TSelf}.Version"/> alone says how to read it back (see <see cref="StateReader"/>).
/// </summary>
public sealed class StateWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(256);

    /// <summary>The bytes written so far.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.WrittenSpan;

    public int Length => _buffer.WrittenCount;

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    /// <summary>Starts over (the buffer is kept).</summary>
    public void Clear() => _buffer.ResetWrittenCount();

    public void U8(byte value) { _buffer.GetSpan(1)[0] = value; _buffer.Advance(1); }
    public void Bool(bool value) => U8(value ? (byte)1 : (byte)0);
    public void U16(ushort value) { BinaryPrimitives.WriteUInt16LittleEndian(_buffer.GetSpan(2), value); _buffer.Advance(2); }
    public void U32(uint value) { BinaryPrimitives.WriteUInt32LittleEndian(_buffer.GetSpan(4), value); _buffer.Advance(4); }
    public void I32(int value) => U32((uint)value);
    public void U64(ulong value) { BinaryPrimitives.WriteUInt64LittleEndian(_buffer.GetSpan(8), value); _buffer.Advance(8); }
    public void I64(long value) => U64((ulong)value);

    /// <summary>An optional int: a presence byte, then the value.</summary>
    public void OptionalI32(int? value) { Bool(value.HasValue); if (value is { } v) I32(v); }

    /// <summary>An optional long: a presence byte, then the value.</summary>
    public void OptionalI64(long? value) { Bool(value.HasValue); if (value is { } v) I64(v); }

    /// <summary>Raw bytes with no length (the reader must know how many): fixed-size images such as FXSAVE.</summary>
    public void Raw(ReadOnlySpan<byte> data) => _buffer.Write(data);

    /// <summary>A u32 length, then the bytes.</summary>
    public void Bytes(ReadOnlySpan<byte> data) { U32((uint)data.Length); _buffer.Write(data); }

    /// <summary>A UTF-8 string: a u32 length, then the bytes.</summary>
    public void String(string value)
    {
        int count = Encoding.UTF8.GetByteCount(value);
        U32((uint)count);
        Encoding.UTF8.GetBytes(value, _buffer.GetSpan(count));
        _buffer.Advance(count);
    }

    /// <summary>An optional string: a presence byte, then the string.</summary>
    public void OptionalString(string? value) { Bool(value is not null); if (value is not null) String(value); }

    /// <summary>An array: a u32 count, then each element as <paramref name="write"/> writes it.</summary>
    public void Array<T>(IReadOnlyList<T> items, Action<StateWriter, T> write)
    {
        U32((uint)items.Count);
        foreach (var item in items) write(this, item);
    }
}
