using System.Buffers.Binary;
using HyperSharp.Machine.Virtio;
using HyperSharp.Machine.Virtio.Vsock;

namespace HyperSharp.Machine.Tests.Virtio;

/// <summary>
/// Plays Linux's virtio-vsock driver against a <see cref="VirtioVsockDevice"/>: rx buffers laid out as Linux 6.1 posts them
/// (a 44-byte header buffer and a 4 KiB payload buffer), packets sent as header + payload in two descriptors, and the
/// device's interrupts counted so a test waits for the device to answer instead of sleeping.
/// </summary>
internal sealed class VsockGuestDriver : IDisposable, IVirtioInterrupts
{
    public const ulong Cid = 3;
    private const ulong RxArea = 0x200000, TxArea = 0x600000, EventArea = 0xF00000;
    public readonly TestDriver Rx = new(256), Tx, Events;
    public readonly VirtioVsockDevice Device;
    private readonly SemaphoreSlim _rxInterrupts = new(0), _eventInterrupts = new(0);
    private int _nextRx, _nextTx, _consumedRx, _consumedEvents;
    public readonly List<string> Log = [];

    public VsockGuestDriver(string socketPath, int rxBuffers = 32)
    {
        Tx = new TestDriver(256, Rx, 1);
        Events = new TestDriver(8, Rx, 2);
        Device = new VirtioVsockDevice("vsock0", Rx.Ram, socketPath, Cid, line => { lock (Log) Log.Add(line); });
        Device.Activate(1UL << 32, [Rx.Queue(), Tx.Queue(), Events.Queue()], this);
        PostRx(rxBuffers);
    }

    public void QueueInterrupt(int queue)
    {
        if (queue == 0) _rxInterrupts.Release();
        if (queue == 2) _eventInterrupts.Release();
    }

    public void ConfigChanged() { }

    public void PostRx(int count)
    {
        for (int i = 0; i < count; i++, _nextRx++)
        {
            ulong at = RxArea + (ulong)(_nextRx % 128) * 0x2000;
            Rx.Post((at, 44, true), (at + 0x100, 4096, true));
        }
        Device.ProcessQueue(0);
    }

    public void PostEventBuffer()
    {
        Events.Post((EventArea, 8, true));
        Device.ProcessQueue(2);
    }

    /// <summary>Sends a packet; the payload goes in a second descriptor, as Linux sends it.</summary>
    public void Send(ushort op, uint srcPort, uint dstPort, ReadOnlySpan<byte> payload = default, uint flags = 0, uint bufAlloc = 65536, uint fwdCnt = 0,
        ulong srcCid = Cid, uint? length = null, ushort type = 1, int headerBytes = 44, bool notify = true)
    {
        ulong at = TxArea + (ulong)(_nextTx++ % 64) * 0x12000;
        var h = new VsockHeader
        {
            SourceCid = srcCid, DestinationCid = 2, SourcePort = srcPort, DestinationPort = dstPort, Length = length ?? (uint)payload.Length,
            Type = type, Op = op, Flags = flags, BufferAllocation = bufAlloc, ForwardCount = fwdCnt,
        };
        Span<byte> bytes = stackalloc byte[44];
        h.Write(bytes);
        Rx.Ram.Write(at, bytes[..headerBytes]);
        if (payload.IsEmpty) Tx.Post((at, (uint)headerBytes, false));
        else
        {
            Rx.Ram.Write(at + 0x100, payload);
            Tx.Post((at, (uint)headerBytes, false), (at + 0x100, (uint)payload.Length, false));
        }
        if (notify) Device.ProcessQueue(1);
    }

    /// <summary>The next packet the device put in an rx buffer, waiting for its interrupt (safety net: 10 s).</summary>
    public (VsockHeader Header, byte[] Payload) Receive(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (Rx.UsedIndex == (ushort)_consumedRx)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !_rxInterrupts.Wait(left)) throw new TimeoutException($"no packet from the device; its log: {string.Join(" | ", Log)}");
        }
        var (id, length) = Rx.UsedElement(_consumedRx++);
        ulong at = Rx.Ram.Read<ulong>(TestDriver.Desc + 16UL * id); // the header buffer of the chain
        var header = VsockHeader.Read(Rx.Ram.GetSpan(at, 44));
        Assert.Equal(44u + header.Length, length);
        var payload = Rx.Ram.GetSpan(at + 0x100, (int)header.Length).ToArray();
        PostRx(1); // give the buffer back, as the driver refills
        return (header, payload);
    }

    public bool HasReceived => Rx.UsedIndex != (ushort)_consumedRx;

    /// <summary>The next event's id (VIRTIO_VSOCK_EVENT_TRANSPORT_RESET is 0).</summary>
    public uint ReceiveEvent()
    {
        while (Events.UsedIndex == (ushort)_consumedEvents)
            if (!_eventInterrupts.Wait(TimeSpan.FromSeconds(10))) throw new TimeoutException("no event from the device");
        var (_, length) = Events.UsedElement(_consumedEvents++);
        Assert.Equal(4u, length);
        return BinaryPrimitives.ReadUInt32LittleEndian(Rx.Ram.GetSpan(EventArea, 4));
    }

    public void Dispose()
    {
        Device.Dispose();
        Events.Dispose();
        Tx.Dispose();
        Rx.Dispose();
    }
}
