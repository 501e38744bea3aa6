using System.Buffers.Binary;

namespace HyperSharp.Vhdx.Vhdx;

/// <summary>One of the two 4 KiB VHDX headers: the root that locates the log and carries the write GUIDs.</summary>
internal sealed record VhdxHeader
{
    public ulong SequenceNumber { get; init; }
    public Guid FileWriteGuid { get; init; }
    public Guid DataWriteGuid { get; init; }
    public Guid LogGuid { get; init; }
    public ushort LogVersion { get; init; }
    public ushort Version { get; init; } = VhdxFormat.SupportedVersion;
    public uint LogLength { get; init; }
    public ulong LogOffset { get; init; }

    /// <summary>Parses a header; null when its signature or checksum does not validate (the header is not valid).</summary>
    public static VhdxHeader? TryParse(ReadOnlySpan<byte> sector)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(sector) != VhdxFormat.HeaderSignature) return null;
        if (!Crc32C.Verify(sector[..VhdxFormat.HeaderSize], 4)) return null;
        return new VhdxHeader
        {
            SequenceNumber = BinaryPrimitives.ReadUInt64LittleEndian(sector[8..]),
            FileWriteGuid = new Guid(sector.Slice(16, 16)),
            DataWriteGuid = new Guid(sector.Slice(32, 16)),
            LogGuid = new Guid(sector.Slice(48, 16)),
            LogVersion = BinaryPrimitives.ReadUInt16LittleEndian(sector[64..]),
            Version = BinaryPrimitives.ReadUInt16LittleEndian(sector[66..]),
            LogLength = BinaryPrimitives.ReadUInt32LittleEndian(sector[68..]),
            LogOffset = BinaryPrimitives.ReadUInt64LittleEndian(sector[72..]),
        };
    }

    /// <summary>Serializes into a zeroed 4 KiB buffer with the checksum stamped.</summary>
    public void WriteTo(Span<byte> sector)
    {
        sector[..VhdxFormat.HeaderSize].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(sector, VhdxFormat.HeaderSignature);
        BinaryPrimitives.WriteUInt64LittleEndian(sector[8..], SequenceNumber);
        FileWriteGuid.TryWriteBytes(sector.Slice(16, 16));
        DataWriteGuid.TryWriteBytes(sector.Slice(32, 16));
        LogGuid.TryWriteBytes(sector.Slice(48, 16));
        BinaryPrimitives.WriteUInt16LittleEndian(sector[64..], LogVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(sector[66..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(sector[68..], LogLength);
        BinaryPrimitives.WriteUInt64LittleEndian(sector[72..], LogOffset);
        Crc32C.Stamp(sector[..VhdxFormat.HeaderSize], 4);
    }

    /// <summary>The current header of two: the valid one, or the valid one with the greater sequence number.</summary>
    public static (VhdxHeader? Current, int Slot) PickCurrent(VhdxHeader? h1, VhdxHeader? h2)
    {
        if (h1 is null) return (h2, h2 is null ? -1 : 1);
        if (h2 is null) return (h1, 0);
        return h2.SequenceNumber > h1.SequenceNumber ? (h2, 1) : (h1, 0);
    }
}
