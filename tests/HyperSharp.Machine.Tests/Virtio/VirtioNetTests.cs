using System.Buffers.Binary;
using HyperSharp.Machine.Virtio;
using HyperSharp.Machine.Virtio.Net;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Links;

namespace HyperSharp.Machine.Tests.Virtio;

/// <summary>virtio-net against a driver played by the test: transmit with checksum completion, mergeable receive with DATA_VALID, backlog, control queue, link status.</summary>
public class VirtioNetTests
{
    private const ulong VersionOne = 1UL << 32, Csum = 1, GuestCsum = 2, Mergeable = 1UL << 15, Status = 1UL << 16, CtrlVq = 1UL << 17, Mq = 1UL << 22;
    private static readonly MacAddress GuestMac = MacAddress.Parse("0A-48-53-00-00-01"), PeerMac = MacAddress.Parse("0A-48-53-00-00-02");

    private sealed class Irq : IVirtioInterrupts
    {
        public readonly List<int> Queues = [];
        public int Config;
        public void QueueInterrupt(int queue) { lock (Queues) Queues.Add(queue); }
        public void ConfigChanged() => Config++;
    }

    private sealed class Peer : IFrameReceiver
    {
        public readonly List<byte[]> Frames = [];
        public void Receive(ReadOnlySpan<byte> frame) { lock (Frames) Frames.Add(frame.ToArray()); }
    }

    /// <summary>A device with its queues (rx0, tx0, ..., ctrl) live, plugged into an in-process link whose other end the test holds.</summary>
    private static (VirtioNetDevice Net, TestDriver[] Queues, Irq Irq, InProcessLink Wire, Peer Peer) Setup(ulong features, int pairs = 1)
    {
        var first = new TestDriver(64);
        var queues = new TestDriver[2 * pairs + 1];
        queues[0] = first;
        for (int i = 1; i < queues.Length; i++) queues[i] = new TestDriver(64, first, i);
        var net = new VirtioNetDevice("eth0", GuestMac, first.Ram, pairs);
        var irq = new Irq();
        net.Activate(VersionOne | features, queues.Select(q => q.Queue()).ToList(), irq);
        var (device, wire) = InProcessLink.CreatePair("test");
        net.Connect(device);
        var peer = new Peer();
        wire.Start(peer);
        return (net, queues, irq, wire, peer);
    }

    /// <summary>An IPv4/UDP frame whose checksum field holds only the pseudo-header sum, as a guest using NEEDS_CSUM leaves it.</summary>
    private static byte[] UdpFrame(MacAddress dst, MacAddress src, int payload, bool partialChecksum)
    {
        var f = new byte[14 + 20 + 8 + payload];
        dst.Write(f); src.Write(f.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0800);
        var ip = f.AsSpan(14);
        ip[0] = 0x45; BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(28 + payload)); ip[8] = 64; ip[9] = 17;
        ip[12] = 10; ip[15] = 1; ip[16] = 10; ip[19] = 2;
        BinaryPrimitives.WriteUInt16LittleEndian(ip[10..], (ushort)~InternetChecksum.Fold(InternetChecksum.Add(0, ip[..20])));
        var udp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 1234); BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 5678); BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload));
        for (int i = 0; i < payload; i++) udp[8 + i] = (byte)(i * 7);
        ulong pseudo = InternetChecksum.Add(0, ip.Slice(12, 8)) + BinaryPrimitives.ReverseEndianness((ushort)17) + BinaryPrimitives.ReverseEndianness((ushort)(8 + payload));
        BinaryPrimitives.WriteUInt16LittleEndian(udp[6..], InternetChecksum.Fold(pseudo));
        if (!partialChecksum) InternetChecksum.Complete(f, 34, 6);
        return f;
    }

    private static void PostTx(TestDriver tx, ulong at, byte[] frame, byte flags = 0, ushort csumStart = 0, ushort csumOffset = 0, bool split = false)
    {
        var header = new byte[12];
        header[0] = flags;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), csumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), csumOffset);
        tx.Ram.Write(at, header);
        tx.Ram.Write(at + 0x100, frame);
        if (split) tx.Post((at, 12, false), (at + 0x100, 20, false), (at + 0x100 + 20, (uint)frame.Length - 20, false));
        else tx.Post((at, 12, false), (at + 0x100, (uint)frame.Length, false));
    }

    [Fact]
    public void Transmit_CompletesPartialChecksums_AndSendsWholeFrames()
    {
        var (net, q, irq, _, peer) = Setup(Csum | GuestCsum | Mergeable);
        using var _ = q[0];
        var partial = UdpFrame(PeerMac, GuestMac, 300, partialChecksum: true);
        PostTx(q[1], TestDriver.Data, partial, VirtioNet.FlagNeedsCsum, 34, 6);
        var plain = UdpFrame(PeerMac, GuestMac, 1000, partialChecksum: false);
        PostTx(q[1], TestDriver.Data + 0x1000, plain, split: true);
        PostTx(q[1], TestDriver.Data + 0x2000, partial, VirtioNet.FlagNeedsCsum, 34, 400); // offsets outside the frame: dropped
        net.ProcessQueue(1);
        Assert.Equal(3, q[1].UsedIndex);
        Assert.Equal(2, peer.Frames.Count);
        Assert.False(InternetChecksum.TransportChecksumValid(partial));
        Assert.True(InternetChecksum.TransportChecksumValid(peer.Frames[0]));   // completed by the device
        Assert.Equal(partial.AsSpan(0, 40).ToArray(), peer.Frames[0][..40]);
        Assert.Equal(plain, peer.Frames[1]);                                     // gathered from two buffers
        Assert.Equal(1, net.Counters.TransmitErrors);
        Assert.Contains(1, irq.Queues);
    }

    [Fact]
    public void Receive_SpreadsAFrameOverMergeableBuffers_AndMarksVerifiedChecksums()
    {
        var (net, q, irq, wire, _) = Setup(Csum | GuestCsum | Mergeable);
        using var _ = q[0];
        for (int i = 0; i < 4; i++) q[0].Post((TestDriver.Data + 0x1000UL * (ulong)i, 1000, true));
        var frame = UdpFrame(GuestMac, PeerMac, 2400, partialChecksum: false); // 2442 bytes + 12 of header: three buffers
        Assert.True(wire.Send(frame));
        Assert.Equal(3, q[0].UsedIndex);
        Assert.Equal((1000u, 1000u, 454u), (q[0].UsedElement(0).Length, q[0].UsedElement(1).Length, q[0].UsedElement(2).Length));
        var header = q[0].Ram.GetSpan(TestDriver.Data, 12);
        Assert.Equal(VirtioNet.FlagDataValid, header[0]);
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(header[10..]));   // num_buffers
        var back = new byte[frame.Length];
        q[0].Ram.GetSpan(TestDriver.Data + 12, 988).CopyTo(back);
        q[0].Ram.GetSpan(TestDriver.Data + 0x1000, 1000).CopyTo(back.AsSpan(988));
        q[0].Ram.GetSpan(TestDriver.Data + 0x2000, 454).CopyTo(back.AsSpan(1988));
        Assert.Equal(frame, back);
        Assert.Contains(0, irq.Queues);

        frame[^1] ^= 0xFF;                                                        // corrupt: no DATA_VALID, the guest checks and drops it
        q[0].Post((TestDriver.Data + 0x4000, 4096, true));
        wire.Send(frame);
        Assert.Equal(0, q[0].Ram.GetSpan(TestDriver.Data + 0x3000, 1)[0]);
        Assert.Equal(5, q[0].UsedIndex);
        Assert.Equal(2, net.Counters.ReceivedFrames);
    }

    [Fact]
    public void Receive_HoldsFramesUntilTheGuestPostsBuffers()
    {
        var (net, q, _, wire, _) = Setup(Mergeable);
        using var _ = q[0];
        var frame = UdpFrame(GuestMac, PeerMac, 100, false);
        for (int i = 0; i < 3; i++) wire.Send(frame);
        Assert.Equal(0, q[0].UsedIndex);
        for (int i = 0; i < 3; i++) q[0].Post((TestDriver.Data + 0x1000UL * (ulong)i, 2048, true));
        net.ProcessQueue(0);                                                      // the guest's notify after refilling
        Assert.Equal(3, q[0].UsedIndex);
        Assert.Equal((uint)(12 + frame.Length), q[0].UsedElement(2).Length);
        Assert.Equal(0, net.Counters.ReceiveDrops);
    }

    [Fact]
    public void Receive_WithoutMergeableBuffers_DropsFramesTooBigForOneChain()
    {
        var (net, q, _, wire, _) = Setup(0);
        using var _ = q[0];
        q[0].Post((TestDriver.Data, 500, true));
        q[0].Post((TestDriver.Data + 0x1000, 2048, true));
        wire.Send(UdpFrame(GuestMac, PeerMac, 1000, false));
        Assert.Equal(1, net.Counters.ReceiveDrops);
        Assert.Equal(0u, q[0].UsedElement(0).Length);                           // returned empty
        wire.Send(UdpFrame(GuestMac, PeerMac, 400, false));
        Assert.Equal((uint)(12 + 442), q[0].UsedElement(1).Length);
    }

    [Fact]
    public void ControlQueue_EnablesQueuePairs_AndLinkStatusFollowsTheCable()
    {
        var (net, q, irq, _, _) = Setup(CtrlVq | Mq | Status, pairs: 2);
        using var _ = q[0];
        Assert.Equal(5, net.QueueCount);
        Assert.Equal(1, net.ActivePairs);
        void Command(byte cls, byte cmd, ushort value, ulong at)
        {
            q[4].Ram.Write(at, [cls, cmd, (byte)value, (byte)(value >> 8)]);
            q[4].Post((at, 2, false), (at + 2, 2, false), (at + 0x10, 1, true));
            net.ProcessQueue(4);
        }
        Command(VirtioNet.CtrlMq, VirtioNet.CtrlMqPairsSet, 2, TestDriver.Data);
        Assert.Equal(VirtioNet.AckOk, q[4].Ram.GetSpan(TestDriver.Data + 0x10, 1)[0]);
        Assert.Equal(2, net.ActivePairs);
        Command(VirtioNet.CtrlMq, VirtioNet.CtrlMqPairsSet, 3, TestDriver.Data + 0x100);
        Assert.Equal(VirtioNet.AckError, q[4].Ram.GetSpan(TestDriver.Data + 0x110, 1)[0]);
        Command(9, 9, 0, TestDriver.Data + 0x200);
        Assert.Equal(VirtioNet.AckError, q[4].Ram.GetSpan(TestDriver.Data + 0x210, 1)[0]);
        Assert.Equal(2, net.ActivePairs);

        var config = new byte[12];
        net.ReadConfig(0, config);
        Assert.Equal(GuestMac, MacAddress.Read(config));
        Assert.Equal((ushort)1, BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(6)));
        Assert.Equal((ushort)2, BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(8)));
        net.Disconnect();
        net.ReadConfig(6, config.AsSpan(0, 2));
        Assert.Equal(0, config[0]);
        Assert.Equal(2, irq.Config);                                             // plugged in at setup, then unplugged
        Assert.Equal(new VirtioNetState("0A-48-53-00-00-01", false, 2), net.SaveState());
    }

    [Fact]
    public async Task OverASeqpacketLink_FramesGoStraightFromGuestMemory()
    {
        var (net, q, _, _, _) = Setup(Csum | Mergeable);
        using var _ = q[0];
        var (worker, host) = SeqpacketLink.CreatePair("worker");
        net.Connect(worker);                                 // the link a worker process gets from the host service
        var peer = new Peer();
        host.Start(peer);
        using (host)
        {
            var plain = UdpFrame(PeerMac, GuestMac, 1400, partialChecksum: false);
            var partial = UdpFrame(PeerMac, GuestMac, 200, partialChecksum: true);
            PostTx(q[1], TestDriver.Data, plain);             // header alone, then the frame: sent as a span over guest memory
            PostTx(q[1], TestDriver.Data + 0x1000, partial, VirtioNet.FlagNeedsCsum, 34, 6);
            net.ProcessQueue(1);
            for (int i = 0; i < 500 && peer.Frames.Count < 2; i++) await Task.Delay(10);
            Assert.Equal(2, peer.Frames.Count);
            Assert.Equal(plain, peer.Frames[0]);
            Assert.True(InternetChecksum.TransportChecksumValid(peer.Frames[1]));
            Assert.Equal(2, net.Counters.SentFrames);
        }
    }
}
