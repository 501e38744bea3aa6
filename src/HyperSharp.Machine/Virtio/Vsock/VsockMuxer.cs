using System.Net.Sockets;
using HyperSharp.Hypervisor;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;

namespace HyperSharp.Machine.Virtio.Vsock;

/// <summary>
/// One virtio-vsock device's traffic: the transmit queue's packets checked and dispatched (everything the guest sends
/// is hostile: lengths, ports, credit, floods), the host sockets' I/O (connects, readiness, writes the socket would not
/// take at once), and the lifecycle (activation, pause, save, restore, reset). What goes back to the guest is the
/// <see cref="VsockReceivePump"/>'s. One lock guards it all; interrupts are raised after it is released, so the
/// transport's lock is never taken under it.
/// </summary>
internal sealed class VsockMuxer(string name, GuestRam ram, Func<ulong> guestCid, string socketPath, DeviceErrorLog refusals) : IDisposable
{
    /// <summary>Connections one VM may hold at once; a guest opening more is refused with RST.</summary>
    public const int MaxConnections = 256;
    private readonly object _lock = new();
    private readonly VsockReceivePump _pump = new(name, ram, guestCid, new VsockConnectionTable(), refusals);
    private VsockConnectionTable Table => _pump.Table;
    private SplitVirtqueue? _rx, _tx, _events;
    private readonly DescriptorChain _txChain = new(); // refilled by each pop from tx, under _lock
    private IVirtioInterrupts? _interrupts;
    private bool _frozen, _resetEventPending, _txThrottled, _serveAgain;
    private uint _nextHostPort = Vsock.FirstHostPort;

    /// <summary>Live connections (for tests and metrics).</summary>
    public int ConnectionCount { get { lock (_lock) return Table.Count; } }

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
                if (_txThrottled && !Table.RepliesFull) raiseTx |= DrainTx();
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
            if (Table.Count >= MaxConnections)
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
            while (Table.IsLocalPortUsed(local));
            host.Blocking = false;
            var c = new VsockConnection(host, local, port, VsockConnectionState.AwaitingGuest) { OweRequest = true };
            Table.Add(c);
            Table.MarkReady(c);
        }
        ServeFromHost();
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
                Table.MarkReady(c);
            }
            _ = ReadLoopAsync(c, socket);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            refusals.Report($"{name}: the guest connected to host port {c.LocalPort}, but nothing listens at {path} ({e.SocketErrorCode}); refused");
            lock (_lock) if (c.State != VsockConnectionState.Closed) Table.CloseWithReset(c);
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
                    Table.MarkReady(c);
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
        lock (_lock) if (c.State != VsockConnectionState.Closed) Table.CloseWithReset(c);
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
            if (Table.RepliesFull) { _txThrottled = true; break; }
            var chain = _txChain;
            if (!_tx.TryPop(chain)) break;
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
        Table.TryGet(h.DestinationPort, h.SourcePort, out var c);
        if (h.Length > Vsock.MaxPayload || h.Length > readable - VsockHeader.Size)
        {
            refusals.Report($"{name}: refused a packet claiming {h.Length} payload bytes in a {readable}-byte buffer (at most {Vsock.MaxPayload}): {h}");
            if (c is not null) Table.CloseWithReset(c); else Table.Reply(h);
            return;
        }
        if (h.Type != Vsock.TypeStream)
        {
            refusals.Report($"{name}: refused a packet of socket type {h.Type} (only streams are offered): {h}");
            if (c is not null) Table.CloseWithReset(c); else Table.Reply(h);
            return;
        }
        if (c is null) { Unconnected(h); return; }
        if (h.Op == Vsock.OpRst) { Table.CloseSilently(c); return; }
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
                Table.MarkReady(c); // more credit may let held host data move
                break;
            case Vsock.OpCreditRequest:
                c.OweCreditUpdate = true;
                Table.MarkReady(c);
                break;
            case Vsock.OpShutdown:
                GuestShutdown(c, h.Flags);
                break;
            default:
                refusals.Report($"{name}: refused op {h.Op} on {c} in state {c.State}; connection reset");
                Table.CloseWithReset(c);
                break;
        }
    }

    /// <summary>A packet for no connection: a REQUEST opens one; anything else but RST is answered with RST.</summary>
    private void Unconnected(in VsockHeader h)
    {
        if (h.Op == Vsock.OpRst) return;
        if (h.Op != Vsock.OpRequest) { Table.Reply(h); return; }
        if (Table.Count >= MaxConnections)
        {
            refusals.Report($"{name}: refused a guest connection to host port {h.DestinationPort}: {MaxConnections} connections are open");
            Table.Reply(h);
            return;
        }
        var c = new VsockConnection(null, h.DestinationPort, h.SourcePort, VsockConnectionState.AwaitingHost);
        c.UpdatePeerCredit(h);
        Table.Add(c);
        _ = ConnectToHostListenerAsync(c);
    }

    /// <summary>The guest accepted a host-initiated connection: the host process reads "OK port\n", then the stream.</summary>
    private void Accepted(VsockConnection c)
    {
        c.State = VsockConnectionState.Established;
        Span<byte> line = stackalloc byte[24];
        line = line[..System.Text.Encoding.ASCII.GetBytes($"OK {c.LocalPort}\n", line)];
        int sent = c.Host!.Send(line, SocketFlags.None, out var error);
        if (error != SocketError.Success || sent != line.Length) { Table.CloseWithReset(c); return; }
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
            Table.CloseWithReset(c);
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
                else if (error != SocketError.Success) { Table.CloseWithReset(c); return; }
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
            Table.MarkReady(c);
        }
        if (c.PendingCount > 0) return;
        if (c.GuestEndedSend && !c.HostWriteClosed && c.Host is { } host)
        {
            c.HostWriteClosed = true;
            try { host.Shutdown(SocketShutdown.Send); } catch (SocketException) { }
        }
        if (c.GuestEndedSend && (c.GuestEndedReceive || c.HostEnded)) Table.CloseWithReset(c);
    }

    private void GuestShutdown(VsockConnection c, uint flags)
    {
        c.GuestEndedReceive |= (flags & Vsock.ShutdownReceive) != 0;
        c.GuestEndedSend |= (flags & Vsock.ShutdownSend) != 0;
        if (c.State != VsockConnectionState.Established) { Table.CloseWithReset(c); return; }
        if (!c.Draining) AfterForwarded(c);
    }

    private bool PumpRx() => _rx is not null && _pump.Pump(_rx);

    private bool PumpEvents()
    {
        if (!_resetEventPending || _events is null || !_pump.DeliverTransportReset(_events, out bool interrupt)) return false;
        _resetEventPending = false;
        return interrupt;
    }

    private void CloseAll()
    {
        Table.CloseAll();
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
