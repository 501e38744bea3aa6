using System.Net.Sockets;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;

namespace HyperSharp.Machine.Virtio.Vsock;

/// <summary>
/// Fills the guest's receive buffers with what is owed: resets to strays first, then each ready connection's next
/// packet in turn — RST, REQUEST, RESPONSE, SHUTDOWN, data read from the host socket straight into the buffers while the
/// guest has credit, else a credit update. Also the event queue's transport reset. Runs under the muxer's lock.
/// </summary>
internal sealed class VsockReceivePump(string name, GuestRam ram, Func<ulong> guestCid, VsockConnectionTable table, DeviceErrorLog refusals)
{
    // Refilled by each pop from rx and from the event queue; the muxer calls the pump under its lock.
    private readonly DescriptorChain _rxChain = new();
    private readonly DescriptorChain _eventChain = new();

    /// <summary>The connections it serves (the muxer's).</summary>
    public VsockConnectionTable Table => table;

    /// <summary>Returns whether the guest wants an interrupt for what was delivered.</summary>
    public bool Pump(SplitVirtqueue rx)
    {
        bool pushed = false;
        while (true)
        {
            if (table.TryPeekReply(out var reply))
            {
                var chain = _rxChain;
                if (!rx.TryPop(chain)) break;
                rx.Push(chain.Head, Fits(chain) ? VsockChains.WriteHeader(ram, chain, reply) : 0);
                table.DequeueReply();
                pushed = true;
                continue;
            }
            if (!table.TryPeekReady(out var c)) break;
            if (!HasPacket(c)) { table.DequeueReady(); continue; }
            var buffers = _rxChain;
            if (!rx.TryPop(buffers)) break;
            rx.Push(buffers.Head, Fits(buffers) ? Fill(c, buffers) : 0);
            pushed = true;
            table.DequeueReady();
            if (HasPacket(c)) table.MarkReady(c);
        }
        return pushed && rx.ShouldInterrupt();
    }

    /// <summary>Delivers VIRTIO_VSOCK_EVENT_TRANSPORT_RESET if the guest has posted an event buffer; returns whether it went (and an interrupt is wanted).</summary>
    public bool DeliverTransportReset(SplitVirtqueue events, out bool interrupt)
    {
        interrupt = false;
        var chain = _eventChain;
        if (!events.TryPop(chain)) return false;
        Span<byte> id = stackalloc byte[4]; // struct virtio_vsock_event { le32 id; }
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(id, Vsock.EventTransportReset);
        int position = 0;
        uint written = VsockChains.Writable(chain) >= 4 ? Net.GuestBufferWriter.Fill(ram, chain, id, [], ref position) : 0;
        events.Push(chain.Head, written);
        interrupt = events.ShouldInterrupt();
        return true;
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
        if (error != SocketError.Success) { table.CloseWithReset(c); return true; }
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
            table.Remove(c);
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
            if (c.GuestEndedSend && c.PendingCount == 0) table.CloseWithReset(c);
            return written;
        }
        if (c.Readable && !c.GuestEndedReceive && c.PeerCredit > 0)
        {
            int max = (int)Math.Min(Math.Min(c.PeerCredit, Vsock.MaxPayload), Math.Min(VsockChains.Writable(chain) - VsockHeader.Size, (ulong)c.Host!.Available));
            var error = SocketError.Success;
            int got = max > 0 ? VsockChains.ReceivePayload(ram, chain, c.Host, max, out error) : 0;
            if (error != SocketError.Success)
            {
                VsockConnectionTable.CloseHost(c);
                table.Remove(c);
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
}
