using System.Buffers.Binary;
using System.Text;

namespace HyperSharp.Hypervisor.State;

/// <summary>
/// Reads what <see cref="StateWriter"/> wrote, every field bounds-checked: a truncated or damaged record
/// gives a <see cref="StateRecordException"/> naming the record and the byte where it went wrong, never
/// garbage or an allocation a hostile length asked for.
/// </summary>
public ref struct StateReader(ReadOnlySpan<byte> data, string record)
{
    private readonly ReadOnlySpan<byte> _all = data;
    private int _position;

    /// <summary>The record being read, for messages ("device com1").</summary>
    public readonly string Record => record;

    public readonly int Position => _position;

    public readonly int Remaining => _all.Length - _position;

    public byte U8() => Take(1)[0];

    public bool Bool()
    {
        int at = _position;
        return U8() switch
        {
            0 => false,
            1 => true,
            var b => throw Damaged(at, $"a flag holds {b}, not 0 or 1"),
        };
    }

    public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));
    public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
    public int I32() => (int)U32();
    public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
    public long I64() => (long)U64();
    public int? OptionalI32() => Bool() ? I32() : null;
    public long? OptionalI64() => Bool() ? I64() : null;

    /// <summary><paramref name="length"/> raw bytes (a fixed-size image).</summary>
    public ReadOnlySpan<byte> Raw(int length) => Take(length);

    /// <summary>A length-prefixed byte array.</summary>
    public byte[] Bytes() => Take(Length(1)).ToArray();

    /// <summary>A length-prefixed run of bytes, not copied (a nested section).</summary>
    public ReadOnlySpan<byte> BytesSpan() => Take(Length(1));

    public string String() => Encoding.UTF8.GetString(Take(Length(1)));

    public string? OptionalString() => Bool() ? String() : null;

    /// <summary>
    /// A counted array; <paramref name="minimumElementSize"/> (bytes each element takes at least) bounds the count
    /// by what is left, so a damaged count cannot ask for a huge allocation.
    /// </summary>
    public T[] Array<T>(int minimumElementSize, ReaderFunc<T> read)
    {
        var items = new T[Length(Math.Max(1, minimumElementSize))];
        for (int i = 0; i < items.Length; i++) items[i] = read(ref this);
        return items;
    }

    /// <summary>Everything not read yet.</summary>
    public ReadOnlySpan<byte> Rest() => Take(Remaining);

    /// <summary>Refuses bytes left over: a record longer than its version says is damaged.</summary>
    public readonly void End()
    {
        if (Remaining != 0) throw Damaged(_position, $"{Remaining} bytes follow the end of the record");
    }

    /// <summary>A refusal naming this record and a byte offset in it.</summary>
    public readonly StateRecordException Damaged(int at, string problem) => new(record, at, problem);

    private int Length(int elementSize)
    {
        int at = _position;
        uint count = U32();
        if (count > (uint)(Remaining / elementSize))
            throw Damaged(at, $"a length of {count} exceeds the {Remaining} bytes left (truncated or damaged)");
        return (int)count;
    }

    private ReadOnlySpan<byte> Take(int n)
    {
        if ((uint)n > (uint)Remaining)
            throw Damaged(_position, $"{n} more bytes are needed but {Remaining} are left (truncated or damaged)");
        var span = _all.Slice(_position, n);
        _position += n;
        return span;
    }
}

/// <summary>Reads one element of an array (see <see cref="StateReader.Array{T}"/>).</summary>
public delegate T ReaderFunc<T>(ref StateReader reader);
