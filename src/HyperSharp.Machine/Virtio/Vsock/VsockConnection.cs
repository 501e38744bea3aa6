using System.Net.Sockets;

namespace HyperSharp.Machine.Virtio.Vsock;

/// <summary>Where a connection is in its life (virtio 1.x, "Stream Sockets").</summary>
internal enum VsockConnectionState
{
    /// <summary>Host-initiated: REQUEST queued or sent to the guest, waiting for its RESPONSE.</summary>
    AwaitingGuest,
    /// <summary>Guest-initiated: connecting to the host listener at <c>socket_PORT</c>.</summary>
    AwaitingHost,
    Established,
    Closed,
}

/// <summary>
/// One stream connection between a guest socket and a host Unix socket: its ports, both sides' credit (virtio
/// 1.x, "Flow Control": a sender may have at most the peer's buf_alloc bytes unforwarded), what it still owes the
/// guest (a response, a credit update, a shutdown, a reset), and the bytes the guest sent that the host socket
/// has not taken yet. All fields are guarded by the muxer's lock.
/// </summary>
internal sealed class VsockConnection(Socket? host, uint localPort, uint peerPort, VsockConnectionState state)
{
    /// <summary>Our receive buffer as advertised to the guest (buf_alloc): what the guest may send before the host reads it.</summary>
    public const uint BufferSize = 256 * 1024;

    public Socket? Host { get; set; } = host;
    public uint LocalPort { get; } = localPort;
    public uint PeerPort { get; } = peerPort;
    public VsockConnectionState State { get; set; } = state;

    // The guest's credit, from every header it sends; and what we sent it.
    public uint PeerBufferAllocation, PeerForwardCount, SentToGuest;
    // Our credit: what the guest sent us, what reached the host socket, and the forward count the guest last saw.
    public uint ReceivedFromGuest, ForwardedToHost, ReportedForwardCount;

    // What the connection owes the guest (sent by the receive pump, control before data).
    public bool OweRequest, OweResponse, OweReset, OweCreditUpdate;
    public uint OweShutdown;

    /// <summary>The host socket has data or end-of-file to read (its reader saw it and waits for the pump to drain it).</summary>
    public bool Readable;
    public bool HostEnded, ShutdownSentToGuest, GuestEndedSend, GuestEndedReceive, HostWriteClosed;
    public bool InReadyList;

    /// <summary>Bytes from the guest the host socket would not take at once, in order (allocated on the first stall).</summary>
    public byte[]? Pending;
    public int PendingStart, PendingCount;
    public bool Draining;

    /// <summary>Wakes the host-socket reader once the pump has read everything it had.</summary>
    public AsyncSignal Rearm { get; } = new();

    /// <summary>Bytes we may still send the guest: its buf_alloc less what it has not yet forwarded (hostile values give 0).</summary>
    public uint PeerCredit
    {
        get
        {
            uint inFlight = SentToGuest - PeerForwardCount;
            return inFlight >= PeerBufferAllocation ? 0 : PeerBufferAllocation - inFlight;
        }
    }

    /// <summary>What the guest believes it may still send, from the last forward count it saw.</summary>
    public uint GuestViewOfFreeSpace
    {
        get
        {
            uint held = ReceivedFromGuest - ReportedForwardCount;
            return held >= BufferSize ? 0 : BufferSize - held;
        }
    }

    public void UpdatePeerCredit(in VsockHeader h)
    {
        PeerBufferAllocation = h.BufferAllocation;
        PeerForwardCount = h.ForwardCount;
    }

    /// <summary>Appends guest bytes the host socket did not take; the caller checked credit, so they fit.</summary>
    public void Hold(ReadOnlySpan<byte> data)
    {
        Pending ??= new byte[BufferSize];
        int tail = (PendingStart + PendingCount) % Pending.Length;
        int first = Math.Min(data.Length, Pending.Length - tail);
        data[..first].CopyTo(Pending.AsSpan(tail));
        data[first..].CopyTo(Pending);
        PendingCount += data.Length;
    }

    /// <summary>The oldest held bytes that lie contiguously in the buffer.</summary>
    public ReadOnlyMemory<byte> HeldSegment() =>
        Pending is null || PendingCount == 0 ? default : Pending.AsMemory(PendingStart, Math.Min(PendingCount, Pending.Length - PendingStart));

    public void Consume(int n)
    {
        PendingStart = (PendingStart + n) % Pending!.Length;
        PendingCount -= n;
        ForwardedToHost += (uint)n;
    }

    /// <summary>The header of a packet to the guest on this connection, with our current credit.</summary>
    public VsockHeader Header(ulong guestCid, ushort op, uint length = 0, uint flags = 0)
    {
        ReportedForwardCount = ForwardedToHost;
        return new VsockHeader
        {
            SourceCid = Vsock.HostCid, DestinationCid = guestCid, SourcePort = LocalPort, DestinationPort = PeerPort, Length = length,
            Type = Vsock.TypeStream, Op = op, Flags = flags, BufferAllocation = BufferSize, ForwardCount = ForwardedToHost,
        };
    }

    public override string ToString() => $"host:{LocalPort} <-> guest:{PeerPort}";
}
