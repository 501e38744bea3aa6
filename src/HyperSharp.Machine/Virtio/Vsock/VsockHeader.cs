using System.Buffers.Binary;

namespace HyperSharp.Machine.Virtio.Vsock;

/// <summary>Operations, types, flags and limits of virtio-vsock (virtio 1.x, "Socket Device").</summary>
internal static class Vsock
{
    public const ushort DeviceType = 19;
    public const int QueueRx = 0, QueueTx = 1, QueueEvent = 2;
    public const int ConfigSize = 8; // le64 guest_cid
    public const ulong HostCid = 2;

    public const ushort TypeStream = 1;
    public const ushort OpRequest = 1, OpResponse = 2, OpRst = 3, OpShutdown = 4, OpRw = 5, OpCreditUpdate = 6, OpCreditRequest = 7;
    public const uint ShutdownReceive = 1, ShutdownSend = 2;
    public const uint EventTransportReset = 0;

    /// <summary>The largest payload one packet may carry (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE).</summary>
    public const uint MaxPayload = 64 * 1024;

    /// <summary>Host-side ports handed to host-initiated connections start here (as Firecracker's do), above any guest service port.</summary>
    public const uint FirstHostPort = 1u << 30;
}

/// <summary>
/// The 44-byte little-endian packet header every virtio-vsock packet starts with (struct virtio_vsock_hdr):
/// addresses, payload length, type, operation, flags and the sender's credit (buffer size, bytes forwarded).
/// </summary>
internal struct VsockHeader
{
    public const int Size = 44;

    public ulong SourceCid, DestinationCid;
    public uint SourcePort, DestinationPort, Length;
    public ushort Type, Op;
    public uint Flags, BufferAllocation, ForwardCount;

    public static VsockHeader Read(ReadOnlySpan<byte> b) => new()
    {
        SourceCid = BinaryPrimitives.ReadUInt64LittleEndian(b),
        DestinationCid = BinaryPrimitives.ReadUInt64LittleEndian(b[8..]),
        SourcePort = BinaryPrimitives.ReadUInt32LittleEndian(b[16..]),
        DestinationPort = BinaryPrimitives.ReadUInt32LittleEndian(b[20..]),
        Length = BinaryPrimitives.ReadUInt32LittleEndian(b[24..]),
        Type = BinaryPrimitives.ReadUInt16LittleEndian(b[28..]),
        Op = BinaryPrimitives.ReadUInt16LittleEndian(b[30..]),
        Flags = BinaryPrimitives.ReadUInt32LittleEndian(b[32..]),
        BufferAllocation = BinaryPrimitives.ReadUInt32LittleEndian(b[36..]),
        ForwardCount = BinaryPrimitives.ReadUInt32LittleEndian(b[40..]),
    };

    public readonly void Write(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(b, SourceCid);
        BinaryPrimitives.WriteUInt64LittleEndian(b[8..], DestinationCid);
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], SourcePort);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], DestinationPort);
        BinaryPrimitives.WriteUInt32LittleEndian(b[24..], Length);
        BinaryPrimitives.WriteUInt16LittleEndian(b[28..], Type);
        BinaryPrimitives.WriteUInt16LittleEndian(b[30..], Op);
        BinaryPrimitives.WriteUInt32LittleEndian(b[32..], Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(b[36..], BufferAllocation);
        BinaryPrimitives.WriteUInt32LittleEndian(b[40..], ForwardCount);
    }

    public override readonly string ToString() => $"op {Op} type {Type} {SourceCid}:{SourcePort} -> {DestinationCid}:{DestinationPort} len {Length}";
}
