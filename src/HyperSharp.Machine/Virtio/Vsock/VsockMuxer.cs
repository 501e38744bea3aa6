using System.Net.Sockets;
using HyperSharp.Hypervisor;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;

namespace HyperSharp.Machine.Virtio.Vsock;

/// <summary>
/// The connections of one virtio-vsock device and the packets between them and the guest: the transmit queue's
/// packets are checked and dispatched (everything the guest sends is hostile: lengths, ports, credit, floods), and
/// the receive pump fills the guest's buffers with what connections owe it — control packets first, then data read
/// from host sockets straight into guest memory while the guest has credit. One lock guards it all; interrupts are
/// raised after it is released, so the transport's lock is never taken under it.
/// </summary>
internal sealed class VsockMuxer(string name, GuestRam ram, Func<ulong> guestCid, string socketPath, DeviceErrorLog refusals) : IDisposable
{
    /// <summary>Connections one VM may hold at once; a guest opening more is refused with RST.</summary>
    public const int MaxConnections = 256;
    /// <summary>Replies (RSTs to strays) waiting for receive buffers; at this many the transmit queue waits, so a flood cannot grow memory.</summary>
    private const int MaxReplies = 64;

    private readonly object _lock = new();
    private readonly Dictionary<(uint Local, uint Peer), VsockConnection> _connections = [];
    private readonly Queue<VsockConnection> _ready = new();
    private readonly Queue<VsockHeader> _replies = new();
    private SplitVirtqueue? _rx, _tx, _events;
    private IVirtioInterrupts? _interrupts;
    private bool _frozen, _resetEventPending, _txThrottled, _serveAgain;
    private uint _nextHostPort = Vsock.FirstHostPort;

    /// <summary>Live connections (for tests and metrics).</summary>
    public int ConnectionCount { get { lock (_lock) return _connections.Count; } }

    /// <summary>
    /// The driver set DRIVER_OK, or a restored transport re-activated its queues. Nothing is served here: on a restore
    /// the transport sets the queues' saved positions only after this returns (the driver's first notify, or
    /// <see cref="ResetTransport"/>, starts the serving).
    /// </summary>
    public void Attach(IReadOnlyList<SplitVirtqueue?> queues, IVirtioInterrupts interrupts)
    {
        lock (_lock)
        {
            _rx = At(queues, Vsock.QueueRx);
            _tx = At(queues, Vsock.QueueTx);
            _events = At(queues, Vsock.QueueEvent);
            _interrupts = interrupts;
        }
    }

    private static SplitVirtqueue? At(IReadOnlyList<SplitVirtqueue?> queues, int i) => i < queues.Count ? queues[i] : null;

    /// <summary>The driver reset the device: every connection is gone, host sides closed.</summary>
    public void Detach()
    {
        lock (_lock)
        {
            CloseAll();
            (_rx, _tx, _events, _interrupts) = (null, null, null, null);
            _resetEventPending = false;
            _frozen = false; // a queue the guest broke stops the device until this reset
        }
    }

    /// <summary>The VM paused: leave guest memory alone (a save may be copying it) until <see cref="Thaw"/>.</summary>
    public void Freeze()
    {
        lock (_lock) _frozen = true;
    }

    /// <summary>The VM runs again: serve what waited (a transport reset owed since a save, host data).</summary>
    public void Thaw()
    {
        lock (_lock) _frozen = false;
        Kick();
    }

    /// <summary>
    /// The VM's state is being saved: close every connection and owe the guest a transport reset (sent when it runs
    /// again, here or in the restored copy), so both sides forget the same connections.
    /// </summary>
    public void ResetForSave()
    {
        lock (_lock)
        {
            CloseAll();
            _resetEventPending = true;
        }
    }

    /// <summary>A restored device: tell the guest's driver that its connections are gone (VIRTIO_VSOCK_EVENT_TRANSPORT_RESET).</summary>
    public void ResetTransport()
    {
        lock (_lock)
        {
            CloseAll();
            _resetEventPending = true;
            _frozen = false;
        }
        Kick();
    }

    /// <summary>Serves what is owed on every queue (after activation, a thaw, or a reply the transmit side queued).</summary>
    public void Kick() => Serve();

    /// <summary>The guest posted packets, or receive or event buffers: either way everything owed is served.</summary>
    public void Process() => Serve();

    private void Serve()
    {
        // A socket callback that ran inline on a thread already serving (a connect or a dispose completing synchronously)
        // must not serve again from inside the loops below: the outer Serve goes round once more instead.
        if (Monitor.IsEntered(_lock)) { _serveAgain = true; return; }
        bool raiseRx = false, raiseTx = false, raiseEvent = false;
        IVirtioInterrupts? interrupts;
        lock (_lock)
        {
            if (_frozen) return;
            interrupts = _interrupts;
            do
            {
                _serveAgain = false;
                raiseEvent |= PumpEvents();
                raiseTx |= DrainTx();
                raiseRx |= PumpRx();
                if (_txThrottled && _replies.Count < MaxReplies) raiseTx |= DrainTx();
                raiseRx |= PumpRx();
            }
            while (_serveAgain && !_frozen);
        }
        if (raiseEvent) interrupts?.QueueInterrupt(Vsock.QueueEvent);
        if (raiseTx) interrupts?.QueueInterrupt(Vsock.QueueTx);
        if (raiseRx) interrupts?.QueueInterrupt(Vsock.QueueRx);
    }

    /// <summary>Same as <see cref="Serve"/> for host-side events (threadpool): a broken ring only stops this device.</summary>
    private void ServeFromHost()
    {
        try { Serve(); }
        catch (Exception e) when (e is VirtqueueException or GuestMemoryAccessException)
        {
            refusals.Report($"{name}: the guest broke its receive queue ({e.Message}); connections closed until the driver resets the device");
            lock (_lock) { CloseAll(); _frozen = true; }
        }
    }

    // ---- host side -------------------------------------------------------------------------------------------

    /// <summary>A host process asked for guest port <paramref name="port"/> (after "CONNECT port\n" on the VM's socket).</summary>
    public void ConnectFromHost(Socket host, uint port)
    {
        lock (_lock)
        {
            if (_connections.Count >= MaxConnections)
            {
                host.Dispose();
                refusals.Report($"{name}: refused a host connection to guest port {port}: {MaxConnections} connections are open");
                return;
            }
            uint local;
            do
            {
                local = _nextHostPort++;
                if (_nextHostPort == 0) _nextHostPort = Vsock.FirstHostPort;
            }
            while (IsLocalPortUsed(local));
            host.Blocking = false;
            var c = new VsockConnection(host, local, port, VsockConnectionState.AwaitingGuest) { OweRequest = true };
            _connections[(local, port)] = c;
            MarkReady(c);
        }
        ServeFromHost();
    }

    private bool IsLocalPortUsed(uint port)
    {
        foreach (var key in _connections.Keys) if (key.Local == port) return true;
        return false;
    }

    private async Task ConnectToHostListenerAsync(VsockConnection c)
    {
        string path = $"{socketPath}_{c.LocalPort}";
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path)).ConfigureAwait(false);
            lock (_lock)
            {
                if (c.State == VsockConnectionState.Closed) { socket.Dispose(); return; }
                socket.Blocking = false;
                c.Host = socket;
                c.State = VsockConnectionState.Established;
                c.OweResponse = true;
                MarkReady(c);
            }
            _ = ReadLoopAsync(c, socket);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            refusals.Report($"{name}: the guest connected to host port {c.LocalPort}, but nothing listens at {path} ({e.SocketErrorCode}); refused");
            lock (_lock) if (c.State != VsockConnectionState.Closed) CloseWithReset(c);
        }
        ServeFromHost();
    }

    /// <summary>Waits (zero-byte receive) until the host socket has data or ended, hands it to the pump, and waits for the pump to drain it.</summary>
    private async Task ReadLoopAsync(VsockConnection c, Socket socket)
    {
        try
        {
            while (true)
            {
                await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
                lock (_lock)
                {
                    if (c.State == VsockConnectionState.Closed) return;
                    c.Readable = true;
                    MarkReady(c);
                }
                ServeFromHost();
                await c.Rearm.WaitAsync().ConfigureAwait(false);
                lock (_lock) if (c.State == VsockConnectionState.Closed || c.HostEnded) return;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { HostFailed(c); }
    }

    /// <summary>Sends the bytes the host socket would not take at once, in order, returning credit to the guest as they go.</summary>
    private async Task DrainAsync(VsockConnection c, Socket socket)
    {
        try
        {
            while (true)
            {
                ReadOnlyMemory<byte> segment;
                lock (_lock)
                {
                    if (c.State == VsockConnectionState.Closed) return;
                    segment = c.HeldSegment();
                    if (segment.IsEmpty)
                    {
                        c.Draining = false;
                        AfterForwarded(c);
                        break;
                    }
                }
                int n = await socket.SendAsync(segment, SocketFlags.None).ConfigureAwait(false);
                lock (_lock)
                {
                    if (c.State == VsockConnectionState.Closed) return;
                    c.Consume(n);
                    AfterForwarded(c);
                }
                ServeFromHost();
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { HostFailed(c); return; }
        ServeFromHost();
    }

    private void HostFailed(VsockConnection c)
    {
        lock (_lock) if (c.State != VsockConnectionState.Closed) CloseWithReset(c);
        ServeFromHost();
    }

    // ---- guest side: the transmit queue -----------------------------------------------------------------------

    /// <summary>Takes the guest's packets until the queue is empty or replies back up (then the receive side must drain first).</summary>
    private bool DrainTx()
    {
        if (_tx is null) return false;
        bool pushed = false;
        _txThrottled = false;
        while (true)
        {
            if (_replies.Count >= MaxReplies) { _txThrottled = true; break; }
            if (_tx.Pop() is not { } chain) break;
            Handle(chain);
            _tx.Push(chain.Head, 0);
            pushed = true;
        }
        return pushed && _tx.ShouldInterrupt();
    }

    private void Handle(DescriptorChain chain)
    {
        ulong readable = VsockChains.Readable(chain);
        if (readable < VsockHeader.Size) { refusals.Report($"{name}: refused a {readable}-byte packet (a header is {VsockHeader.Size})"); return; }
        Span<byte> bytes = stackalloc byte[VsockHeader.Size];
        VsockChains.Gather(ram, chain, bytes);
        var h = VsockHeader.Read(bytes);
        ulong cid = guestCid();
        if (h.SourceCid != cid || h.DestinationCid != Vsock.HostCid)
        {
            refusals.Report($"{name}: refused a packet from CID {h.SourceCid} to CID {h.DestinationCid} (the guest is {cid}, the host {Vsock.HostCid})");
            return;
        }
        _connections.TryGetValue((h.DestinationPort, h.SourcePort), out var c);
        if (h.Length > Vsock.MaxPayload || h.Length > readable - VsockHeader.Size)
        {
            refusals.Report($"{name}: refused a packet claiming {h.Length} payload bytes in a {readable}-byte buffer (at most {Vsock.MaxPayload}): {h}");
            if (c is not null) CloseWithReset(c); else Reply(h);
            return;
        }
        if (h.Type != Vsock.TypeStream)
        {
            refusals.Report($"{name}: refused a packet of socket type {h.Type} (only streams are offered): {h}");
            if (c is not null) CloseWithReset(c); else Reply(h);
            return;
        }
        if (c is null) { Unconnected(h); return; }
        if (h.Op == Vsock.OpRst) { CloseSilently(c); return; }
        c.UpdatePeerCredit(h);
        switch (h.Op)
        {
            case Vsock.OpResponse when c.State == VsockConnectionState.AwaitingGuest:
                Accepted(c);
                break;
            case Vsock.OpRw when c.State == VsockConnectionState.Established && !c.GuestEndedSend:
                Forward(c, chain, h.Length);
                break;
            case Vsock.OpCreditUpdate:
                MarkReady(c); // more credit may let held host data move
                break;
            case Vsock.OpCreditRequest:
                c.OweCreditUpdate = true;
                MarkReady(c);
                break;
            case Vsock.OpShutdown:
                GuestShutdown(c, h.Flags);
                break;
            default:
                refusals.Report($"{name}: refused op {h.Op} on {c} in state {c.State}; connection reset");
                CloseWithReset(c);
                break;
        }
    }

    /// <summary>A packet for no connection: a REQUEST opens one; anything else but RST is answered with RST.</summary>
    private void Unconnected(in VsockHeader h)
    {
        if (h.Op == Vsock.OpRst) return;
        if (h.Op != Vsock.OpRequest) { Reply(h); return; }
        if (_connections.Count >= MaxConnections)
        {
            refusals.Report($"{name}: refused a guest connection to host port {h.DestinationPort}: {MaxConnections} connections are open");
            Reply(h);
            return;
        }
        var c = new VsockConnection(null, h.DestinationPort, h.SourcePort, VsockConnectionState.AwaitingHost);
        c.UpdatePeerCredit(h);
        _connections[(c.LocalPort, c.PeerPort)] = c;
        _ = ConnectToHostListenerAsync(c);
    }

    private void Reply(in VsockHeader to)
    {
        if (_replies.Count >= MaxReplies) return; // cannot happen: the transmit side stops first
        _replies.Enqueue(new VsockHeader
        {
            SourceCid = Vsock.HostCid, DestinationCid = to.SourceCid, SourcePort = to.DestinationPort, DestinationPort = to.SourcePort,
            Type = Vsock.TypeStream, Op = Vsock.OpRst,
        });
    }

    /// <summary>The guest accepted a host-initiated connection: the host process reads "OK port\n", then the stream.</summary>
    private void Accepted(VsockConnection c)
    {
        c.State = VsockConnectionState.Established;
        Span<byte> line = stackalloc byte[24];
        line = line[..System.Text.Encoding.ASCII.GetBytes($"OK {c.LocalPort}\n", line)];
        int sent = c.Host!.Send(line, SocketFlags.None, out var error);
        if (error != SocketError.Success || sent != line.Length) { CloseWithReset(c); return; }
        _ = ReadLoopAsync(c, c.Host);
    }

    /// <summary>Guest data to the host socket: straight from guest memory while nothing is held, the rest held in order.</summary>
    private void Forward(VsockConnection c, DescriptorChain chain, uint length)
    {
        // Credit as the guest was told it (our last reported forward count), not as it is now: a driver keeping the rules
        // never exceeds it, and what we hold stays within BufferSize.
        if (length > c.GuestViewOfFreeSpace)
        {
            refusals.Report($"{name}: the guest sent {length} bytes on {c} with {c.GuestViewOfFreeSpace} bytes of credit; connection reset");
            CloseWithReset(c);
            return;
        }
        c.ReceivedFromGuest += length;
        for (int i = 0; ; i++)
        {
            var piece = VsockChains.ReadablePiece(ram, chain, VsockHeader.Size, length, i);
            if (piece.IsEmpty) break;
            if (c.PendingCount == 0 && !c.Draining)
            {
                int sent = c.Host!.Send(piece, SocketFlags.None, out var error);
                if (error == SocketError.WouldBlock) sent = 0;
                else if (error != SocketError.Success) { CloseWithReset(c); return; }
                c.ForwardedToHost += (uint)sent;
                piece = piece[sent..];
            }
            if (!piece.IsEmpty) c.Hold(piece);
        }
        if (c.PendingCount > 0 && !c.Draining)
        {
            c.Draining = true;
            _ = DrainAsync(c, c.Host!);
        }
        AfterForwarded(c);
    }

    /// <summary>After bytes reached the host: credit back to a guest that may be running out, and the close a shutdown waited for.</summary>
    private void AfterForwarded(VsockConnection c)
    {
        if (c.GuestViewOfFreeSpace < Vsock.MaxPayload && c.ForwardedToHost != c.ReportedForwardCount)
        {
            c.OweCreditUpdate = true;
            MarkReady(c);
        }
        if (c.PendingCount > 0) return;
        if (c.GuestEndedSend && !c.HostWriteClosed && c.Host is { } host)
        {
            c.HostWriteClosed = true;
            try { host.Shutdown(SocketShutdown.Send); } catch (SocketException) { }
        }
        if (c.GuestEndedSend && (c.GuestEndedReceive || c.HostEnded)) CloseWithReset(c);
    }

    private void GuestShutdown(VsockConnection c, uint flags)
    {
        c.GuestEndedReceive |= (flags & Vsock.ShutdownReceive) != 0;
        c.GuestEndedSend |= (flags & Vsock.ShutdownSend) != 0;
        if (c.State != VsockConnectionState.Established) { CloseWithReset(c); return; }
        if (!c.Draining) AfterForwarded(c);
    }

    // ---- guest side: the receive and event queues --------------------------------------------------------------

    private void MarkReady(VsockConnection c)
    {
        if (c.InReadyList) return;
        c.InReadyList = true;
        _ready.Enqueue(c);
    }

    /// <summary>Fills receive buffers with what is owed: replies, then each ready connection's next packet, round robin.</summary>
    private bool PumpRx()
    {
        if (_rx is null) return false;
        bool pushed = false;
        while (true)
        {
            if (_replies.TryPeek(out var reply))
            {
                if (_rx.Pop() is not { } chain) break;
                _rx.Push(chain.Head, Fits(chain) ? VsockChains.WriteHeader(ram, chain, reply) : 0);
                _replies.Dequeue();
                pushed = true;
                continue;
            }
            if (!_ready.TryPeek(out var c)) break;
            if (!HasPacket(c)) { _ready.Dequeue(); c.InReadyList = false; continue; }
            if (_rx.Pop() is not { } buffers) break;
            _rx.Push(buffers.Head, Fits(buffers) ? Fill(c, buffers) : 0);
            pushed = true;
            _ready.Dequeue();
            c.InReadyList = false;
            if (HasPacket(c)) MarkReady(c);
        }
        return pushed && _rx.ShouldInterrupt();
    }

    private bool Fits(DescriptorChain chain)
    {
        if (VsockChains.Writable(chain) >= VsockHeader.Size) return true;
        refusals.Report($"{name}: the guest posted a receive buffer smaller than a header ({VsockHeader.Size} bytes); returned unused");
        return false;
    }

    /// <summary>Whether the connection has a packet to send now; learns whether a readable host socket has data or ended.</summary>
    private bool HasPacket(VsockConnection c)
    {
        if (c.OweReset || c.OweRequest || c.OweResponse || c.OweCreditUpdate) return true;
        if (c.State != VsockConnectionState.Established) return false;
        if (c.OweShutdown != 0) return true;
        if (!c.Readable || c.GuestEndedReceive || c.PeerCredit == 0) return false;
        if (c.Host!.Available > 0) return true;
        Span<byte> one = stackalloc byte[1];
        int n = c.Host.Receive(one, SocketFlags.Peek, out var error);
        if (error == SocketError.WouldBlock) { c.Readable = false; c.Rearm.Set(); return false; }
        c.Readable = false;
        if (error != SocketError.Success) { CloseWithReset(c); return true; }
        if (n > 0) { c.Readable = true; return true; } // arrived between the two calls
        c.HostEnded = true; // end of file: the host will send no more
        c.OweShutdown |= Vsock.ShutdownSend;
        return true;
    }

    /// <summary>Writes the connection's next packet into a receive chain; returns the bytes written.</summary>
    private uint Fill(VsockConnection c, DescriptorChain chain)
    {
        ulong cid = guestCid();
        if (c.OweReset)
        {
            c.OweReset = false;
            _connections.Remove((c.LocalPort, c.PeerPort));
            return VsockChains.WriteHeader(ram, chain, c.Header(cid, Vsock.OpRst));
        }
        if (c.OweRequest) { c.OweRequest = false; return VsockChains.WriteHeader(ram, chain, c.Header(cid, Vsock.OpRequest)); }
        if (c.OweResponse) { c.OweResponse = false; return VsockChains.WriteHeader(ram, chain, c.Header(cid, Vsock.OpResponse)); }
        if (c.OweShutdown != 0)
        {
            uint flags = c.OweShutdown;
            c.OweShutdown = 0;
            c.ShutdownSentToGuest = true;
            uint written = VsockChains.WriteHeader(ram, chain, c.Header(cid, Vsock.OpShutdown, flags: flags));
            if (c.GuestEndedSend && c.PendingCount == 0) CloseWithReset(c);
            return written;
        }
        if (c.Readable && !c.GuestEndedReceive && c.PeerCredit > 0)
        {
            int max = (int)Math.Min(Math.Min(c.PeerCredit, Vsock.MaxPayload), Math.Min(VsockChains.Writable(chain) - VsockHeader.Size, (ulong)c.Host!.Available));
            var error = SocketError.Success;
            int got = max > 0 ? VsockChains.ReceivePayload(ram, chain, c.Host, max, out error) : 0;
            if (error != SocketError.Success)
            {
                CloseHost(c);
                _connections.Remove((c.LocalPort, c.PeerPort));
                return VsockChains.WriteHeader(ram, chain, c.Header(cid, Vsock.OpRst));
            }
            if (got > 0)
            {
                c.SentToGuest += (uint)got;
                c.OweCreditUpdate = false;
                return VsockChains.WriteHeader(ram, chain, c.Header(cid, Vsock.OpRw, (uint)got)) + (uint)got;
            }
        }
        c.OweCreditUpdate = false;
        return VsockChains.WriteHeader(ram, chain, c.Header(cid, Vsock.OpCreditUpdate));
    }

    private bool PumpEvents()
    {
        if (!_resetEventPending || _events is null) return false;
        if (_events.Pop() is not { } chain) return false;
        Span<byte> id = stackalloc byte[4]; // struct virtio_vsock_event { le32 id; }
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(id, Vsock.EventTransportReset);
        int position = 0;
        uint written = VsockChains.Writable(chain) >= 4 ? Net.GuestBufferWriter.Fill(ram, chain, id, [], ref position) : 0;
        _events.Push(chain.Head, written);
        _resetEventPending = false;
        return _events.ShouldInterrupt();
    }

    // ---- closing ----------------------------------------------------------------------------------------------

    /// <summary>Closes the host side and owes the guest an RST; the entry goes once the RST is sent.</summary>
    private void CloseWithReset(VsockConnection c)
    {
        if (c.State == VsockConnectionState.Closed && !c.OweReset && !_connections.ContainsKey((c.LocalPort, c.PeerPort))) return;
        CloseHost(c);
        (c.OweRequest, c.OweResponse, c.OweCreditUpdate, c.OweShutdown, c.Readable) = (false, false, false, 0, false);
        c.OweReset = true;
        MarkReady(c);
    }

    private void CloseSilently(VsockConnection c)
    {
        CloseHost(c);
        c.OweReset = false;
        _connections.Remove((c.LocalPort, c.PeerPort));
    }

    private static void CloseHost(VsockConnection c)
    {
        c.State = VsockConnectionState.Closed;
        c.Host?.Dispose();
        c.Rearm.Set();
    }

    private void CloseAll()
    {
        foreach (var c in _connections.Values) { CloseHost(c); c.OweReset = false; }
        _connections.Clear();
        _ready.Clear();
        _replies.Clear();
        _txThrottled = false;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            CloseAll();
            _frozen = true;
        }
    }
}
