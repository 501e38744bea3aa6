namespace HyperSharp.Machine.Virtio.Vsock;

/// <summary>
/// The connections of one device by (host port, guest port), the ones that owe the guest a packet (in the order they
/// became ready, so the receive pump serves them round robin), and the resets owed to packets that belong to no
/// connection. Not thread-safe: the muxer's lock guards it.
/// </summary>
internal sealed class VsockConnectionTable
{
    /// <summary>Replies (RSTs to strays) waiting for receive buffers; at this many the transmit queue waits, so a flood cannot grow memory.</summary>
    public const int MaxReplies = 64;

    private readonly Dictionary<(uint Local, uint Peer), VsockConnection> _connections = [];
    private readonly Queue<VsockConnection> _ready = new();
    private readonly Queue<VsockHeader> _replies = new();

    public int Count => _connections.Count;

    public bool RepliesFull => _replies.Count >= MaxReplies;

    public bool TryGet(uint localPort, uint peerPort, out VsockConnection? c) => _connections.TryGetValue((localPort, peerPort), out c);

    public void Add(VsockConnection c) => _connections[(c.LocalPort, c.PeerPort)] = c;

    public void Remove(VsockConnection c) => _connections.Remove((c.LocalPort, c.PeerPort));

    public bool IsLocalPortUsed(uint port)
    {
        foreach (var key in _connections.Keys) if (key.Local == port) return true;
        return false;
    }

    /// <summary>Queues the connection for the receive pump (once).</summary>
    public void MarkReady(VsockConnection c)
    {
        if (c.InReadyList) return;
        c.InReadyList = true;
        _ready.Enqueue(c);
    }

    public bool TryPeekReady(out VsockConnection c) => _ready.TryPeek(out c!);

    public void DequeueReady() => _ready.Dequeue().InReadyList = false;

    /// <summary>Owes an RST to the sender of a packet that belongs to no connection.</summary>
    public void Reply(in VsockHeader to)
    {
        if (RepliesFull) return; // cannot happen: the transmit side stops first
        _replies.Enqueue(new VsockHeader
        {
            SourceCid = Vsock.HostCid, DestinationCid = to.SourceCid, SourcePort = to.DestinationPort, DestinationPort = to.SourcePort,
            Type = Vsock.TypeStream, Op = Vsock.OpRst,
        });
    }

    public bool TryPeekReply(out VsockHeader reply) => _replies.TryPeek(out reply);

    public void DequeueReply() => _replies.Dequeue();

    /// <summary>Closes the host side and owes the guest an RST; the entry goes once the RST is sent.</summary>
    public void CloseWithReset(VsockConnection c)
    {
        if (c.State == VsockConnectionState.Closed && !c.OweReset && !_connections.ContainsKey((c.LocalPort, c.PeerPort))) return;
        CloseHost(c);
        (c.OweRequest, c.OweResponse, c.OweCreditUpdate, c.OweShutdown, c.Readable) = (false, false, false, 0, false);
        c.OweReset = true;
        MarkReady(c);
    }

    /// <summary>The guest reset the connection: the host side closes, nothing is owed.</summary>
    public void CloseSilently(VsockConnection c)
    {
        CloseHost(c);
        c.OweReset = false;
        Remove(c);
    }

    public static void CloseHost(VsockConnection c)
    {
        c.State = VsockConnectionState.Closed;
        c.Host?.Dispose();
        c.Rearm.Set();
    }

    /// <summary>Every host side closed and everything owed forgotten (a reset, a save, a restore).</summary>
    public void CloseAll()
    {
        foreach (var c in _connections.Values) { CloseHost(c); c.OweReset = false; }
        _connections.Clear();
        _ready.Clear();
        _replies.Clear();
    }
}
