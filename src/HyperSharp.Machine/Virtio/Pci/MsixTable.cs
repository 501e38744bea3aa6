using System.Buffers.Binary;

namespace HyperSharp.Machine.Virtio.Pci;

/// <summary>An MSI-X table (16 bytes a vector: address, data, control with the mask bit) and its pending-bit array.</summary>
internal sealed class MsixTable(int count)
{
    private readonly byte[] _table = InitialTable(count);
    private readonly ulong[] _pending = new ulong[(count + 63) / 64];

    public int Count => count;

    private static byte[] InitialTable(int count)
    {
        var table = new byte[count * 16];
        for (int v = 0; v < count; v++) table[v * 16 + 12] = 1; // vectors start masked
        return table;
    }

    public bool IsMasked(int vector) => (_table[vector * 16 + 12] & 1) != 0;

    public (ulong Address, uint Data) Message(int vector) =>
        (BinaryPrimitives.ReadUInt64LittleEndian(_table.AsSpan(vector * 16)), BinaryPrimitives.ReadUInt32LittleEndian(_table.AsSpan(vector * 16 + 8)));

    public void SetPending(int vector) => _pending[vector / 64] |= 1UL << (vector % 64);

    /// <summary>Vectors pending and no longer masked; clears their pending bits.</summary>
    public List<int> TakeDeliverable()
    {
        var ready = new List<int>();
        for (int v = 0; v < count; v++)
            if ((_pending[v / 64] & (1UL << (v % 64))) != 0 && !IsMasked(v)) { _pending[v / 64] &= ~(1UL << (v % 64)); ready.Add(v); }
        return ready;
    }

    public void ReadTable(int offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++) data[i] = offset + i < _table.Length ? _table[offset + i] : (byte)0;
    }

    /// <summary>Writes table bytes; returns true when a vector's mask bit was cleared (pending messages may go out).</summary>
    public bool WriteTable(int offset, ReadOnlySpan<byte> data)
    {
        bool unmasked = false;
        for (int i = 0; i < data.Length && offset + i < _table.Length; i++)
        {
            int at = offset + i;
            if (at % 16 == 12) unmasked |= (_table[at] & 1) != 0 && (data[i] & 1) == 0;
            if (at % 16 is 13 or 14 or 15) continue; // reserved control bits
            _table[at] = data[i];
        }
        return unmasked;
    }

    public void ReadPending(int offset, Span<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            int at = offset + i;
            data[i] = at / 8 < _pending.Length ? (byte)(_pending[at / 8] >> (8 * (at % 8))) : (byte)0;
        }
    }
}
