using System.Buffers.Binary;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Links;

namespace HyperSharp.Machine.Virtio.Net;

/// <summary>
/// One transmit queue: each chain is a virtio_net_hdr and a frame. A frame that lies in one guest
/// buffer and needs no checksum goes to the link as a span over guest memory (zero-copy) when the
/// link copies on send; otherwise it is gathered into one buffer, where a partial checksum
/// (NEEDS_CSUM) is completed before it leaves. Malformed requests are counted and skipped.
/// </summary>
internal sealed class VirtioNetTransmitQueue(GuestRam ram, SplitVirtqueue queue, int index, IVirtioInterrupts interrupts,
    Func<IFrameLink?> link, NetCounters counters)
{
    private readonly byte[] _frame = new byte[VirtioNet.HeaderSize + EthernetHeader.MaxFrameLength];
    private readonly DescriptorChain _chain = new();

    /// <summary>Sends what the guest posted (the transport calls it from one thread at a time: no lock of our own).</summary>
    public void Transmit()
    {
        bool completed = false;
        while (queue.TryPop(_chain))
        {
            Send(_chain);
            queue.Push(_chain.Head, 0);
            completed = true;
        }
        if (completed && queue.ShouldInterrupt()) interrupts.QueueInterrupt(index);
    }

    private void Send(DescriptorChain chain)
    {
        var buffers = chain.Buffers;
        ulong total = 0;
        foreach (var b in buffers) if (!b.DeviceWritable) total += b.Length;
        if (total < VirtioNet.HeaderSize + EthernetHeader.Length || total > (ulong)_frame.Length) { counters.CountTransmitError(); return; }
        if (link() is not { } target) return; // no cable: the frame is lost, as on a disconnected NIC
        Span<byte> header = stackalloc byte[VirtioNet.HeaderSize];
        if (TryZeroCopy(buffers, target, header, (int)total)) return;
        int length = 0;
        foreach (var b in buffers)
        {
            if (b.DeviceWritable) break;
            ram.GetSpan(b.Address, (int)b.Length).CopyTo(_frame.AsSpan(length));
            length += (int)b.Length;
        }
        var frame = _frame.AsSpan(VirtioNet.HeaderSize, length - VirtioNet.HeaderSize);
        if ((_frame[0] & VirtioNet.FlagNeedsCsum) != 0
            && !InternetChecksum.Complete(frame, BinaryPrimitives.ReadUInt16LittleEndian(_frame.AsSpan(VirtioNet.CsumStartOffset)), BinaryPrimitives.ReadUInt16LittleEndian(_frame.AsSpan(VirtioNet.CsumOffsetOffset))))
        {
            counters.CountTransmitError();
            return;
        }
        Deliver(target, frame);
    }

    /// <summary>The common Linux layout — header alone in the first buffer, the frame in the second — sent straight from guest memory.</summary>
    private bool TryZeroCopy(ReadOnlySpan<GuestBuffer> buffers, IFrameLink target, Span<byte> header, int total)
    {
        if (!target.SendCopies || buffers.Length < 2 || buffers[0].Length != VirtioNet.HeaderSize || buffers[1].DeviceWritable
            || buffers[1].Length != total - VirtioNet.HeaderSize) return false;
        ram.GetSpan(buffers[0].Address, VirtioNet.HeaderSize).CopyTo(header);
        if ((header[0] & VirtioNet.FlagNeedsCsum) != 0) return false;
        Deliver(target, ram.GetSpan(buffers[1].Address, (int)buffers[1].Length));
        return true;
    }

    private void Deliver(IFrameLink target, ReadOnlySpan<byte> frame)
    {
        if (target.Send(frame)) counters.CountSent(frame.Length);
        else counters.CountTransmitError();
    }
}
