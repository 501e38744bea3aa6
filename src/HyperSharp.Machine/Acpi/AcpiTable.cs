using System.Buffers.Binary;
using System.Text;

namespace HyperSharp.Machine.Acpi;

/// <summary>The 36-byte header every ACPI system description table starts with, and its checksum.</summary>
public static class AcpiTable
{
    public const int HeaderSize = 36;
    public const string OemId = "HYSHRP";
    public const string OemTableId = "HYPERSHR";
    public const string CreatorId = "HYSH";

    /// <summary>Makes a table: header (signature, length, revision, OEM and creator fields) + body, checksum fixed.</summary>
    public static byte[] Create(string signature, byte revision, ReadOnlySpan<byte> body)
    {
        var table = new byte[HeaderSize + body.Length];
        var span = table.AsSpan();
        Encoding.ASCII.GetBytes(signature).CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)table.Length);
        span[8] = revision;
        Encoding.ASCII.GetBytes(OemId).CopyTo(span[10..]);
        Encoding.ASCII.GetBytes(OemTableId).CopyTo(span[16..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[24..], 1);
        Encoding.ASCII.GetBytes(CreatorId).CopyTo(span[28..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[32..], 1);
        body.CopyTo(span[HeaderSize..]);
        span[9] = Checksum(span);
        return table;
    }

    /// <summary>The byte that makes <paramref name="data"/> sum to zero (with its checksum byte taken as zero).</summary>
    public static byte Checksum(ReadOnlySpan<byte> data, int checksumOffset = 9)
    {
        byte sum = 0;
        for (int i = 0; i < data.Length; i++) if (i != checksumOffset) sum += data[i];
        return (byte)-sum;
    }

    /// <summary>Generic Address Structure: a register in system I/O space.</summary>
    public static void WriteIoGas(Span<byte> gas, ushort port, byte bitWidth, byte accessSize)
    {
        gas[0] = 1; // system I/O
        gas[1] = bitWidth;
        gas[2] = 0;
        gas[3] = accessSize; // 1 byte, 2 word, 3 dword
        BinaryPrimitives.WriteUInt64LittleEndian(gas[4..], port);
    }
}
