using System.Buffers.Binary;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Links;

namespace HyperSharp.Machine.Virtio.Net;

/// <summary>
/// virtio-net (type 1): a VM's network adapter, connected to a switch port through an
/// <see cref="IFrameLink"/>. Offers mergeable receive buffers, checksum offload both ways, several
/// queue pairs with a control queue, the MAC in configuration space and link status (up while a
/// link is connected). Transmit runs on the vCPU that notified; receive on the link's thread.
/// </summary>
public sealed class VirtioNetDevice : IVirtioDevice, IFrameReceiver, IDisposable
{
    private readonly GuestRam _ram;
    private readonly int _pairs;
    private readonly object _lock = new();
    private volatile IFrameLink? _link;
    private volatile Active? _active;

    /// <summary>The queues of a driver that set DRIVER_OK; replaced as a whole on reset, so a link thread never sees half of it.</summary>
    private sealed class Active(VirtioNetReceiveQueue?[] receive, VirtioNetTransmitQueue?[] transmit, VirtioNetControlQueue? control, int controlIndex, IVirtioInterrupts interrupts)
    {
        public readonly IVirtioInterrupts Interrupts = interrupts;
        public readonly VirtioNetReceiveQueue?[] Receive = receive;
        public readonly VirtioNetTransmitQueue?[] Transmit = transmit;
        public readonly VirtioNetControlQueue? Control = control;
        public readonly int ControlIndex = controlIndex;
        public volatile int Pairs = 1;
    }

    public VirtioNetDevice(string name, MacAddress mac, GuestRam ram, int queuePairs = 1)
    {
        if (queuePairs is < 1 or > VirtioNet.MaxQueuePairs) throw new ArgumentOutOfRangeException(nameof(queuePairs), $"{queuePairs} queue pairs: 1 to {VirtioNet.MaxQueuePairs} are allowed");
        if (mac.IsMulticast) throw new ArgumentException($"{mac} is a multicast address; an adapter needs a unicast MAC", nameof(mac));
        Name = name;
        Mac = mac;
        _ram = ram;
        _pairs = queuePairs;
    }

    public string Name { get; }
    public MacAddress Mac { get; }
    public NetCounters Counters { get; } = new();
    public ushort DeviceType => VirtioNet.DeviceType;
    public int QueueCount => 2 * _pairs + 1;
    public ushort MaxQueueSize => 256;
    public int ConfigSize => VirtioNet.ConfigSize;

    /// <summary>Whether a cable is in: a link is connected.</summary>
    public bool LinkUp => _link is not null;

    /// <summary>How many queue pairs the driver uses now (1 until it enables more through the control queue).</summary>
    public int ActivePairs => _active?.Pairs ?? 0;

    public ulong DeviceFeatures =>
        1UL << 32 /* VERSION_1 */ | 1UL << 28 /* INDIRECT_DESC */
        | 1UL << VirtioNet.FeatureCsum | 1UL << VirtioNet.FeatureGuestCsum | 1UL << VirtioNet.FeatureMac
        | 1UL << VirtioNet.FeatureMergeableRx | 1UL << VirtioNet.FeatureStatus | 1UL << VirtioNet.FeatureCtrlVq
        | (_pairs > 1 ? 1UL << VirtioNet.FeatureMq : 0);

    public void ReadConfig(int offset, Span<byte> data)
    {
        Span<byte> c = stackalloc byte[VirtioNet.ConfigSize];
        Mac.Write(c);
        BinaryPrimitives.WriteUInt16LittleEndian(c[6..], LinkUp ? VirtioNet.StatusLinkUp : (ushort)0);
        BinaryPrimitives.WriteUInt16LittleEndian(c[8..], (ushort)_pairs);
        BinaryPrimitives.WriteUInt16LittleEndian(c[10..], 1500);
        data.Clear();
        if (offset >= 0 && offset < c.Length) c.Slice(offset, Math.Min(data.Length, c.Length - offset)).CopyTo(data);
    }

    public void WriteConfig(int offset, ReadOnlySpan<byte> data) { } // the MAC is read-only (no VIRTIO_NET_F_CTRL_MAC_ADDR either)

    public void Activate(ulong features, IReadOnlyList<SplitVirtqueue?> queues, IVirtioInterrupts interrupts)
    {
        bool mq = (features & 1UL << VirtioNet.FeatureMq) != 0, ctrl = (features & 1UL << VirtioNet.FeatureCtrlVq) != 0;
        bool mergeable = (features & 1UL << VirtioNet.FeatureMergeableRx) != 0, guestCsum = (features & 1UL << VirtioNet.FeatureGuestCsum) != 0;
        int pairs = mq ? _pairs : 1;
        var receive = new VirtioNetReceiveQueue?[pairs];
        var transmit = new VirtioNetTransmitQueue?[pairs];
        for (int p = 0; p < pairs; p++)
        {
            if (Queue(queues, 2 * p) is { } rx) receive[p] = new VirtioNetReceiveQueue(_ram, rx, 2 * p, mergeable, guestCsum, interrupts, Counters);
            if (Queue(queues, 2 * p + 1) is { } tx) transmit[p] = new VirtioNetTransmitQueue(_ram, tx, 2 * p + 1, interrupts, () => _link, Counters);
        }
        int controlIndex = ctrl ? 2 * pairs : -1; // without MQ the control queue is queue 2 (virtio 1.x 5.1.2)
        Active? active = null;
        var control = ctrl && Queue(queues, controlIndex) is { } cq
            ? new VirtioNetControlQueue(_ram, cq, controlIndex, interrupts, pairs, n => active!.Pairs = n) : null;
        active = new Active(receive, transmit, control, controlIndex, interrupts);
        _active = active;
    }

    private static SplitVirtqueue? Queue(IReadOnlyList<SplitVirtqueue?> queues, int index) => index >= 0 && index < queues.Count ? queues[index] : null;

    public void ProcessQueue(int index)
    {
        if (_active is not { } a) return;
        if (index == a.ControlIndex) a.Control?.Process();
        else if (index / 2 < a.Receive.Length)
        {
            if (index % 2 == 0) a.Receive[index / 2]?.Refill();
            else a.Transmit[index / 2]?.Transmit();
        }
    }

    /// <summary>A frame from the switch: to the receive queue its flow hashes to.</summary>
    void IFrameReceiver.Receive(ReadOnlySpan<byte> frame)
    {
        if (_active is not { } a) return; // driver not ready: the frame is lost, as on a NIC that is down
        int pairs = Math.Min(a.Pairs, a.Receive.Length);
        var queue = a.Receive[pairs > 1 ? FlowHash.Of(frame) % pairs : 0];
        if (queue is null) return;
        try { queue.Deliver(frame); }
        catch (Exception e) when (e is VirtqueueException or HyperSharp.Hypervisor.GuestMemoryAccessException)
        {
            _active = null; // a broken receive ring stops the device taking frames until the driver resets it
            Counters.CountReceiveDrop();
        }
    }

    /// <summary>Plugs the adapter into a switch port (Connect-VMNetworkAdapter); the guest sees the link come up.</summary>
    public void Connect(IFrameLink link)
    {
        lock (_lock)
        {
            _link?.Dispose();
            _link = link;
            link.Start(this);
        }
        _active?.Interrupts.ConfigChanged(); // the driver rereads the status field
    }

    /// <summary>
    /// Sends a frame of the VMM's own (a migration's MAC announce) through the adapter's port, as if the guest had sent it;
    /// false when the adapter is not connected or the link dropped it.
    /// </summary>
    public bool SendFromHost(ReadOnlySpan<byte> frame) => _link is { } link && link.Send(frame);

    /// <summary>Unplugs the adapter; the guest sees the link go down.</summary>
    public void Disconnect()
    {
        lock (_lock)
        {
            _link?.Dispose();
            _link = null;
        }
        _active?.Interrupts.ConfigChanged(); // the driver rereads the status field
    }

    public void Reset() => _active = null;

    public VirtioNetState SaveState() => new(Mac.ToString(), LinkUp, ActivePairs);

    public void RestoreState(VirtioNetState state)
    {
        if (MacAddress.Parse(state.Mac) != Mac) throw new InvalidDataException($"{Name}: saved with MAC {state.Mac}, rebuilt with {Mac}");
        if (_active is { } a && state.ActivePairs >= 1) a.Pairs = Math.Min(state.ActivePairs, a.Receive.Length);
    }

    /// <summary>Unplugs without telling the guest: the machine is going away, its interrupt path may already be gone.</summary>
    public void Dispose()
    {
        _active = null;
        lock (_lock)
        {
            _link?.Dispose();
            _link = null;
        }
    }
}
