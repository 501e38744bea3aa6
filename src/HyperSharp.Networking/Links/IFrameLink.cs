namespace HyperSharp.Networking.Links;

/// <summary>Takes the frames that arrive at one end of a link. Called on the link's delivery thread; the span is valid only during the call.</summary>
public interface IFrameReceiver
{
    void Receive(ReadOnlySpan<byte> frame);
}

/// <summary>
/// One end of a point-to-point Ethernet link: a switch port holds one end, a VM adapter, TAP device
/// or host interface the other. The same contract serves every transport (in-process calls, a Unix
/// seqpacket socket between the host service and a worker process, a TAP file descriptor, a packet
/// socket), so shared-memory rings can replace the socket later without touching the switch or the NIC.
/// </summary>
public interface IFrameLink : IDisposable
{
    /// <summary>What the link is, for messages ("tap hs0", "seqpacket fd 12").</summary>
    string Description { get; }

    /// <summary>
    /// True when <see cref="Send"/> has copied the frame before anything inspects it (a socket or TAP write). A NIC may
    /// then hand the link a span over guest memory; over an in-process link it must copy first, or a guest could change
    /// the frame between the switch's policy checks and its delivery.
    /// </summary>
    bool SendCopies { get; }

    /// <summary>Starts delivering arriving frames to <paramref name="receiver"/>; called once.</summary>
    void Start(IFrameReceiver receiver);

    /// <summary>Sends one frame to the other end. Never blocks: false when the frame was dropped (peer congested, gone or not started).</summary>
    bool Send(ReadOnlySpan<byte> frame);
}
