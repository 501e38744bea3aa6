using System.Buffers.Binary;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;

namespace HyperSharp.Machine.Virtio.Scsi;

/// <summary>An event waiting for a buffer on the event queue: type, LUN and reason (saved state too).</summary>
public sealed record ScsiPendingEvent(uint Event, int Lun, uint Reason);

/// <summary>
/// The event queue: transport resets (a LUN added or removed) and parameter changes (a capacity change) wait here, in
/// order, until the driver has posted a buffer (Linux keeps eight and re-posts each after handling its event). Past
/// <see cref="MaxPending"/> the oldest are dropped and the next event delivered carries EVENTS_MISSED, on which the
/// driver rescans the whole host.
/// </summary>
internal sealed class VirtioScsiEvents(GuestRam ram)
{
    public const int MaxPending = 512;
    private readonly Queue<ScsiPendingEvent> _pending = new();
    private readonly DescriptorChain _chain = new(); // the event queue's, used under _lock
    private readonly object _lock = new();
    private bool _missed;

    public void Post(uint type, int lun, uint reason)
    {
        lock (_lock)
        {
            if (_pending.Count >= MaxPending) { _pending.Dequeue(); _missed = true; }
            _pending.Enqueue(new ScsiPendingEvent(type, lun, reason));
        }
    }

    /// <summary>Fills the driver's posted buffers with waiting events; true when it pushed any (the caller may interrupt).</summary>
    public bool Deliver(SplitVirtqueue? queue)
    {
        if (queue is null) return false;
        bool pushed = false;
        Span<byte> e = stackalloc byte[VirtioScsi.EventSize];
        lock (_lock)
        {
            while (_pending.Count > 0 || _missed)
            {
                if (!queue.TryPop(_chain)) break;
                var chain = _chain;
                var data = new ScsiDataBuffers(ram, chain, 0, 0);
                if (data.WritableBytes < VirtioScsi.EventSize) throw new VirtqueueException($"an event buffer of {data.WritableBytes} bytes is smaller than an event ({VirtioScsi.EventSize})");
                e.Clear();
                var next = _pending.Count > 0 ? _pending.Dequeue() : new ScsiPendingEvent(VirtioScsi.EventNone, 0, 0);
                BinaryPrimitives.WriteUInt32LittleEndian(e, next.Event | (_missed ? VirtioScsi.EventsMissed : 0));
                e[4] = 1;                       // lun[0] = 1, target 0
                e[6] = (byte)(next.Lun >> 8);   // the LUN as REPORT LUNS gives it (Linux reads lun[2] << 8 | lun[3])
                e[7] = (byte)next.Lun;
                BinaryPrimitives.WriteUInt32LittleEndian(e[12..], next.Reason);
                _missed = false;
                queue.Push(chain.Head, (uint)data.WriteResponse(e));
                pushed = true;
            }
        }
        return pushed;
    }

    public void Clear()
    {
        lock (_lock) { _pending.Clear(); _missed = false; }
    }

    public (ScsiPendingEvent[] Pending, bool Missed) Save()
    {
        lock (_lock) return ([.. _pending], _missed);
    }

    public void Restore(ScsiPendingEvent[] pending, bool missed)
    {
        lock (_lock)
        {
            _pending.Clear();
            foreach (var e in pending.TakeLast(MaxPending)) _pending.Enqueue(e);
            _missed = missed || pending.Length > MaxPending;
        }
    }
}
