using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;

namespace HyperSharp.Machine.Virtio.Net;

/// <summary>
/// The control queue: class, command and data readable, one ack byte writable. We act on
/// VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET (how many queue pairs the driver uses); receive-mode and MAC
/// filter commands are acknowledged (the switch port already delivers only what the adapter should
/// see); anything else is refused with an error ack.
/// </summary>
internal sealed class VirtioNetControlQueue(GuestRam ram, SplitVirtqueue queue, int index, IVirtioInterrupts interrupts, int maxPairs, Action<int> setPairs)
{
    private readonly DescriptorChain _chain = new();

    /// <summary>Serves the queue (the transport calls it from one thread at a time).</summary>
    public void Process()
    {
        bool completed = false;
        while (queue.TryPop(_chain))
        {
            queue.Push(_chain.Head, Execute(_chain));
            completed = true;
        }
        if (completed && queue.ShouldInterrupt()) interrupts.QueueInterrupt(index);
    }

    private uint Execute(DescriptorChain chain)
    {
        Span<byte> command = stackalloc byte[4];
        int have = 0;
        GuestBuffer? ack = null;
        foreach (var b in chain.Buffers)
        {
            if (b.DeviceWritable) { ack ??= b; continue; }
            int n = Math.Min((int)b.Length, command.Length - have);
            if (n > 0) ram.GetSpan(b.Address, n).CopyTo(command[have..]);
            have += n;
        }
        if (ack is not { Length: > 0 } a) throw new VirtqueueException("a control command has no writable ack byte");
        byte result = have >= 2 ? Run(command[0], command[1], command[2..have]) : VirtioNet.AckError;
        ram.Write(a.Address, [result]);
        return 1;
    }

    private byte Run(byte cls, byte cmd, ReadOnlySpan<byte> data)
    {
        switch (cls)
        {
            case VirtioNet.CtrlMq when cmd == VirtioNet.CtrlMqPairsSet && data.Length >= 2:
                int pairs = data[0] | data[1] << 8;
                if (pairs < 1 || pairs > maxPairs) return VirtioNet.AckError;
                setPairs(pairs);
                return VirtioNet.AckOk;
            case VirtioNet.CtrlRx or VirtioNet.CtrlMac:
                return VirtioNet.AckOk;
            default:
                return VirtioNet.AckError;
        }
    }
}
