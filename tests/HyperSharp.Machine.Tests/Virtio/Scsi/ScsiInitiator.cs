using System.Buffers.Binary;
using HyperSharp.Machine.Virtio;
using HyperSharp.Machine.Virtio.Scsi;

namespace HyperSharp.Machine.Tests.Virtio.Scsi;

/// <summary>Plays Linux's virtio_scsi driver against a <see cref="VirtioScsiDevice"/>: control, event and one request queue in test RAM.</summary>
public sealed class ScsiInitiator : IDisposable, IVirtioInterrupts
{
    private const ulong Request = TestDriver.Data, Response = TestDriver.Data + 0x1000, DataOut = TestDriver.Data + 0x10000,
        DataIn = TestDriver.Data + 0x200000, Events = TestDriver.Data + 0x8000;
    public readonly TestDriver Base = new(64), Control, EventQueue, Requests;
    public readonly VirtioScsiDevice Device;
    private int _completed, _eventsPosted, _eventsSeen;
    public int Interrupts;

    public ScsiInitiator(ulong features = 1UL << 32 | 1UL << 1 | 1UL << 2)
    {
        Control = new TestDriver(64, Base, 1);
        EventQueue = new TestDriver(64, Base, 2);
        Requests = new TestDriver(64, Base, 3);
        Device = new VirtioScsiDevice("scsi0", Base.Ram, 1);
        Device.Activate(features, [Control.Queue(), EventQueue.Queue(), Requests.Queue()], this);
    }

    public void QueueInterrupt(int queue) => Interlocked.Increment(ref Interrupts);
    public void ConfigChanged() { }

    public sealed record Result(byte Response, byte Status, byte[] Sense, byte[] Data, uint Residual, uint Used)
    {
        public (int Key, int Asc, int Ascq) SenseCode => Sense.Length >= 14 ? (Sense[2] & 0xF, Sense[12], Sense[13]) : (0, 0, 0);
    }

    /// <summary>Sends a CDB to (target, lun) with optional data-out and a data-in area; serves the request queue; returns the response.</summary>
    public Result Command(byte[] cdb, int dataIn = 0, byte[]? dataOut = null, int lun = 0, int target = 0, int requestSize = 51, int responseSize = 108)
    {
        var req = Base.Ram.GetSpan(Request, 64);
        req.Clear();
        req[0] = 1; req[1] = (byte)target; req[2] = (byte)(0x40 | lun >> 8); req[3] = (byte)lun;
        cdb.CopyTo(req[19..]);
        var buffers = new List<(ulong, uint, bool)> { (Request, (uint)requestSize, false) };
        if (dataOut is not null) { Base.Ram.Write(DataOut, dataOut); buffers.Add((DataOut, (uint)dataOut.Length, false)); }
        Base.Ram.GetSpan(Response, 256).Fill(0xEE);
        buffers.Add((Response, (uint)responseSize, true));
        if (dataIn > 0) { Base.Ram.GetSpan(DataIn, dataIn).Fill(0xCC); buffers.Add((DataIn, (uint)dataIn, true)); }
        Requests.Post([.. buffers]);
        Device.ProcessQueue(2);
        var (_, used) = Requests.UsedElement(_completed++);
        var resp = Base.Ram.GetSpan(Response, responseSize);
        uint senseLength = BinaryPrimitives.ReadUInt32LittleEndian(resp);
        return new Result(resp[11], resp[10], resp.Slice(12, (int)Math.Min(senseLength, (uint)responseSize - 12)).ToArray(),
            dataIn > 0 ? Base.Ram.GetSpan(DataIn, dataIn).ToArray() : [], BinaryPrimitives.ReadUInt32LittleEndian(resp[4..]), used);
    }

    /// <summary>Posts event buffers as the driver does (eight of them), to be filled as events happen.</summary>
    public void PostEventBuffers(int count = 8)
    {
        for (int i = 0; i < count; i++, _eventsPosted++) EventQueue.Post((Events + 16UL * (ulong)(_eventsPosted % 64), 16, true));
        Device.ProcessQueue(1);
    }

    /// <summary>The events delivered since the last call: (event, lun, reason).</summary>
    public List<(uint Event, int Lun, uint Reason)> TakeEvents()
    {
        var list = new List<(uint, int, uint)>();
        for (; _eventsSeen < EventQueue.UsedIndex; _eventsSeen++)
        {
            var (id, _) = EventQueue.UsedElement(_eventsSeen);
            var e = Base.Ram.GetSpan(Events + 16UL * (id % 64), 16);
            list.Add((BinaryPrimitives.ReadUInt32LittleEndian(e), e[6] << 8 | e[7], BinaryPrimitives.ReadUInt32LittleEndian(e[12..])));
        }
        return list;
    }

    public void Dispose()
    {
        Device.Dispose();
        Requests.Dispose(); EventQueue.Dispose(); Control.Dispose(); Base.Dispose();
    }

    public static byte[] Cdb(params byte[] bytes) => bytes;

    public static byte[] Read16(ulong lba, uint blocks, byte opcode = 0x88)
    {
        var c = new byte[16];
        c[0] = opcode;
        BinaryPrimitives.WriteUInt64BigEndian(c.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(10), blocks);
        return c;
    }
}
