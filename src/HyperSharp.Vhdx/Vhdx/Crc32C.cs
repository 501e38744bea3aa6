using System.Buffers.Binary;
using System.Numerics;

namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// CRC-32C (Castagnoli), the checksum of every VHDX header, region table and log entry, and of every record
/// and memory chunk of a saved-state file.
/// </summary>
public static class Crc32C
{
    /// <summary>The checksum of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(~0u, data);

    /// <summary>The checksum of the bytes <paramref name="crc"/> covers followed by <paramref name="data"/>: Append(Compute(a), b) == Compute(a + b).</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data) => ~Update(~crc, data);

    /// <summary>Checksum of <paramref name="data"/> with the 4-byte checksum field at <paramref name="fieldOffset"/> taken as zero.</summary>
    public static uint ComputeWithZeroField(ReadOnlySpan<byte> data, int fieldOffset)
    {
        uint crc = Update(~0u, data[..fieldOffset]);
        crc = Update(crc, stackalloc byte[4]);
        crc = Update(crc, data[(fieldOffset + 4)..]);
        return ~crc;
    }

    /// <summary>Computes the checksum with the field zeroed and stores it in the field.</summary>
    public static void Stamp(Span<byte> data, int fieldOffset)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(data[fieldOffset..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(data[fieldOffset..], ~Update(~0u, data));
    }

    public static bool Verify(ReadOnlySpan<byte> data, int fieldOffset) =>
        BinaryPrimitives.ReadUInt32LittleEndian(data[fieldOffset..]) == ComputeWithZeroField(data, fieldOffset);

    // BitOperations.Crc32C uses the SSE4.2 crc32 instruction where present.
    private static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return crc;
    }
}
