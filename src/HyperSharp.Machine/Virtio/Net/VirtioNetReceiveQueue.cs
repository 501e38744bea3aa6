using System.Buffers.Binary;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;
using HyperSharp.Networking.Frames;

namespace HyperSharp.Machine.Virtio.Net;

/// <summary>
/// One receive queue: writes each frame, behind a virtio_net_hdr, into the buffers the guest posted.
/// With mergeable receive buffers a frame spreads over as many chains as it needs (num_buffers says
/// how many); without, it must fit one chain. When the guest has no room the frame waits in a small
/// backlog until the guest posts buffers. TCP/UDP checksums are verified here, on the host, and the
/// guest told DATA_VALID so it need not checksum again (that costs a slow guest the most).
/// </summary>
internal sealed class VirtioNetReceiveQueue(GuestRam ram, SplitVirtqueue queue, int index, bool mergeable, bool checksumOffload,
    IVirtioInterrupts interrupts, NetCounters counters)
{
    private const int MaxChainsPerFrame = 64;
    private readonly object _lock = new();
    private readonly FrameBacklog _backlog = new(256);
    private readonly DescriptorChain[] _chains = CreateChains();
    private int _chainCount;

    private static DescriptorChain[] CreateChains()
    {
        var chains = new DescriptorChain[MaxChainsPerFrame];
        for (int i = 0; i < chains.Length; i++) chains[i] = new DescriptorChain();
        return chains;
    }

    /// <summary>A frame from the switch (link thread).</summary>
    public void Deliver(ReadOnlySpan<byte> frame)
    {
        lock (_lock)
        {
            bool pushed = Drain();
            if (_backlog.Count == 0 && TryWrite(frame, ref pushed)) { }
            else if (!_backlog.TryAdd(frame)) counters.CountReceiveDrop();
            if (pushed && queue.ShouldInterrupt()) interrupts.QueueInterrupt(index);
        }
    }

    /// <summary>The guest posted buffers (notify): deliver what waited.</summary>
    public void Refill()
    {
        lock (_lock)
            if (Drain() && queue.ShouldInterrupt()) interrupts.QueueInterrupt(index);
    }

    private bool Drain()
    {
        bool pushed = false;
        while (_backlog.Count > 0 && TryWrite(_backlog.Peek(), ref pushed)) _backlog.RemoveFirst();
        return pushed;
    }

    /// <summary>False when the guest has not posted enough room (nothing is consumed then).</summary>
    private bool TryWrite(ReadOnlySpan<byte> frame, ref bool pushed)
    {
        ushort start = queue.LastAvailable;
        ulong needed = (ulong)(VirtioNet.HeaderSize + frame.Length), room = 0;
        _chainCount = 0;
        while (room < needed)
        {
            var chain = _chains[_chainCount];
            if (!queue.TryPop(chain)) { queue.LastAvailable = start; return false; }
            _chainCount++;
            room += chain.WritableBytes;
            if (!mergeable || _chainCount == MaxChainsPerFrame) break;
        }
        var chains = _chains.AsSpan(0, _chainCount);
        if (room < needed)
        {
            // Buffers too small for this frame (a guest that posts tiny buffers): give them back empty and drop the frame.
            foreach (var c in chains) queue.Push(c.Head, 0);
            counters.CountReceiveDrop();
            pushed = true;
            return true;
        }
        Span<byte> header = stackalloc byte[VirtioNet.HeaderSize];
        header.Clear();
        if (checksumOffload && InternetChecksum.TransportChecksumValid(frame)) header[0] = VirtioNet.FlagDataValid;
        BinaryPrimitives.WriteUInt16LittleEndian(header[VirtioNet.NumBuffersOffset..], (ushort)_chainCount);
        int position = 0;
        foreach (var c in chains) queue.Push(c.Head, GuestBufferWriter.Fill(ram, c, header, frame, ref position));
        counters.CountReceived(frame.Length);
        pushed = true;
        return true;
    }

    public void Clear() { lock (_lock) _backlog.Clear(); }
}
