using System.Buffers.Binary;
using System.Diagnostics;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;
using HyperSharp.Vhdx;

namespace HyperSharp.Machine.Virtio.Scsi;

/// <summary>
/// A virtio-scsi controller (virtio device 8): one target with up to 64 LUNs, each a disk image (VHDX, VHD or raw).
/// Hyper-V's SCSI controller number is the controller (a Linux SCSI host of its own) and its location is the LUN on
/// target 0 — Linux's virtio_scsi scans a target with REPORT LUNS, so 64 LUNs of one target cost one scan, where 64
/// targets would each be probed. A control queue, an event queue, and a request queue per vCPU (up to
/// <see cref="MaxRequestQueues"/>); LUNs come and go while the guest runs through transport-reset events, and a
/// capacity change is announced with a parameter-change event (or, for a driver without that feature, a unit attention).
/// </summary>
public sealed class VirtioScsiDevice : IVirtioDevice, IDisposable
{
    public const int MaxRequestQueues = 16;
    private readonly GuestRam _ram;
    private readonly ScsiTarget _target = new();
    private readonly VirtioScsiRequestHandler _requests;
    private readonly VirtioScsiControlHandler _control;
    private readonly VirtioScsiEvents _events;
    private readonly object _eventLock = new();
    private IReadOnlyList<SplitVirtqueue?> _queues = [];
    private DescriptorChain[] _chains = []; // one per queue, refilled by each pop (a queue is served on one thread at a time)
    private IVirtioInterrupts? _interrupts;
    private ulong _features;
    private readonly QueueRetryTimers _retry;
    private volatile bool _qosSet; // some LUN has had limits: requests are looked at before they run
    private volatile int _cdbSize = VirtioScsi.DefaultCdbSize, _senseSize = VirtioScsi.DefaultSenseSize;

    public VirtioScsiDevice(string name, GuestRam ram, int requestQueues = 1)
    {
        if (requestQueues is < 1 or > MaxRequestQueues) throw new ArgumentOutOfRangeException(nameof(requestQueues), $"{requestQueues} request queues: 1 to {MaxRequestQueues} are allowed");
        Name = name;
        _ram = ram;
        RequestQueues = requestQueues;
        _requests = new VirtioScsiRequestHandler(ram, _target);
        _control = new VirtioScsiControlHandler(ram);
        _events = new VirtioScsiEvents(ram);
        _retry = new QueueRetryTimers(QueueCount, () => _interrupts);
    }

    public string Name { get; }
    public ushort DeviceType => VirtioScsi.DeviceType;
    public int RequestQueues { get; }
    public int QueueCount => VirtioScsi.FirstRequestQueue + RequestQueues;
    public ushort MaxQueueSize => 256;
    public int ConfigSize => VirtioScsi.ConfigSize;

    public ulong DeviceFeatures => 1UL << 32 /* VERSION_1 */ | 1UL << 28 /* INDIRECT_DESC */
        | 1UL << VirtioScsi.FeatureHotplug | 1UL << VirtioScsi.FeatureChange;

    /// <summary>struct virtio_scsi_config (virtio 1.x 5.6.4); sense_size and cdb_size are what the driver last wrote.</summary>
    public void ReadConfig(int offset, Span<byte> data)
    {
        Span<byte> c = stackalloc byte[VirtioScsi.ConfigSize];
        BinaryPrimitives.WriteUInt32LittleEndian(c, (uint)RequestQueues);                 // num_queues
        BinaryPrimitives.WriteUInt32LittleEndian(c[4..], (uint)MaxQueueSize - 2);          // seg_max: a chain holds the two headers too
        BinaryPrimitives.WriteUInt32LittleEndian(c[8..], VirtioScsi.MaxTransferBytes / 512); // max_sectors
        BinaryPrimitives.WriteUInt32LittleEndian(c[12..], MaxQueueSize);                   // cmd_per_lun
        BinaryPrimitives.WriteUInt32LittleEndian(c[16..], VirtioScsi.EventSize);           // event_info_size
        BinaryPrimitives.WriteUInt32LittleEndian(c[VirtioScsi.ConfigSenseSize..], (uint)_senseSize);
        BinaryPrimitives.WriteUInt32LittleEndian(c[VirtioScsi.ConfigCdbSize..], (uint)_cdbSize);
        BinaryPrimitives.WriteUInt16LittleEndian(c[28..], 0);                              // max_channel
        BinaryPrimitives.WriteUInt16LittleEndian(c[30..], 0);                              // max_target: one target
        BinaryPrimitives.WriteUInt32LittleEndian(c[32..], VirtioScsi.LunCount - 1);        // max_lun
        data.Clear();
        if (offset >= 0 && offset < c.Length) c.Slice(offset, Math.Min(data.Length, c.Length - offset)).CopyTo(data);
    }

    /// <summary>The driver may choose the sense and CDB sizes; a value outside what we can hold is ignored.</summary>
    public void WriteConfig(int offset, ReadOnlySpan<byte> data)
    {
        if (data.Length != 4) return;
        int value = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(data), int.MaxValue);
        if (offset == VirtioScsi.ConfigSenseSize && value is >= 18 and <= VirtioScsi.MaxSenseSize) _senseSize = value;
        if (offset == VirtioScsi.ConfigCdbSize && value is >= 6 and <= VirtioScsi.MaxCdbSize) _cdbSize = value;
    }

    public void Activate(ulong features, IReadOnlyList<SplitVirtqueue?> queues, IVirtioInterrupts interrupts)
    {
        lock (_eventLock)
        {
            _features = features;
            _queues = queues;
            _chains = [.. queues.Select(_ => new DescriptorChain())];
            _interrupts = interrupts;
            // Events from before the driver started are stale: it scans the whole target (REPORT LUNS) as it probes.
            _events.Clear();
        }
    }

    public void ProcessQueue(int index)
    {
        var queue = index < _queues.Count ? _queues[index] : null;
        if (queue is null) return;
        if (index == VirtioScsi.EventQueue) { DeliverEvents(); return; }
        // The transport serves a queue on one thread at a time; the queues run in parallel.
        bool completed = false;
        var chain = _chains[index];
        while (queue.TryPop(chain))
        {
            uint written;
            if (index == VirtioScsi.ControlQueue) written = _control.Execute(chain);
            else if (!_qosSet) written = _requests.Execute(chain, _cdbSize, _senseSize);
            else
            {
                // A request for a LUN at its maximum waits in the ring, and so do those behind it on this queue (the
                // queue is served in order); the other queues, and so the other vCPUs' requests, go on.
                var (number, bytes) = _requests.Peek(chain, _cdbSize, _senseSize);
                var lun = _target[number];
                if (lun is not null && !lun.Qos.MayStart(out var wait)) { queue.Unpop(); _retry.Schedule(index, wait); break; }
                long started = Stopwatch.GetTimestamp();
                written = _requests.Execute(chain, _cdbSize, _senseSize);
                lun?.Qos.Charge(bytes, Stopwatch.GetTimestamp() - started);
            }
            queue.Push(chain.Head, written);
            completed = true;
        }
        if (completed && queue.ShouldInterrupt()) _interrupts?.QueueInterrupt(index);
    }

    public void Reset()
    {
        lock (_eventLock)
        {
            _queues = [];
            _interrupts = null;
            _features = 0;
            _events.Clear();
        }
        (_cdbSize, _senseSize) = (VirtioScsi.DefaultCdbSize, VirtioScsi.DefaultSenseSize);
    }

    /// <summary>
    /// Sets the Storage QoS (normalized IOPS, 0 for none) of the disk at <paramref name="lun"/> and serves every queue once
    /// more (what waited under the old limits, or what a restored device never heard the doorbell for); false when the LUN is empty.
    /// </summary>
    public bool SetQos(int lun, long maximumIops, long minimumIops, Action<long, TimeSpan>? belowMinimum)
    {
        if (_target[lun] is not { } entry) return false;
        entry.Qos.BelowMinimum = belowMinimum;
        entry.Qos.Set(maximumIops, minimumIops);
        if (maximumIops != 0 || minimumIops != 0) _qosSet = true;
        ServeAll();
        return true;
    }

    /// <summary>Serves every queue once more (see <see cref="SetQos"/>).</summary>
    public void ServeAll() => _retry.ServeAll(_queues.Count);

    /// <summary>The disk at a LUN now, or null.</summary>
    public IVirtualDisk? DiskAt(int lun) => _target[lun]?.Disk;

    /// <summary>
    /// Puts a disk at LUN <paramref name="lun"/> (0-63); while the driver runs it is told to scan that LUN. The device does
    /// not own the disk: <see cref="DetachAsync"/> hands it back.
    /// </summary>
    public void Attach(int lun, IVirtualDisk disk, bool readOnly = false, bool shared = false, string? serial = null)
    {
        if (lun is < 0 or >= VirtioScsi.LunCount) throw new ArgumentOutOfRangeException(nameof(lun), $"SCSI location {lun}: a controller has locations 0 to {VirtioScsi.LunCount - 1}");
        serial ??= $"{Name}-{lun:D2}";
        if (serial.Length is 0 or > 64 || serial.Any(ch => ch is < ' ' or > '~'))
            throw new ArgumentException($"a disk serial number is 1 to 64 printable ASCII characters: '{serial}'", nameof(serial));
        var entry = new ScsiLun(lun, disk, readOnly, shared, serial);
        _target.Attach(entry);
        disk.CapacityChanged += OnCapacityChanged;
        PostEvent(VirtioScsi.EventTransportReset, lun, VirtioScsi.ResetRescan, VirtioScsi.FeatureHotplug);
    }

    /// <summary>
    /// Takes the disk out of LUN <paramref name="lun"/> at once (new requests find no LUN there), tells a running driver it
    /// was removed, and completes with the disk once the requests that were using it have finished (then close it).
    /// </summary>
    public async Task<IVirtualDisk> DetachAsync(int lun)
    {
        var entry = _target.Remove(lun) ?? throw new InvalidOperationException($"SCSI location {lun} of {Name} holds no disk");
        entry.Disk.CapacityChanged -= OnCapacityChanged;
        PostEvent(VirtioScsi.EventTransportReset, lun, VirtioScsi.ResetRemoved, VirtioScsi.FeatureHotplug);
        await entry.Detach().ConfigureAwait(false);
        return entry.Disk;
    }

    private void OnCapacityChanged(IVirtualDisk disk)
    {
        for (int lun = 0; lun < VirtioScsi.LunCount; lun++)
        {
            if (_target[lun] is not { } entry || entry.Disk != disk) continue;
            if (!PostEvent(VirtioScsi.EventParamChange, lun, (uint)(SenseCode.CapacityDataChanged.Asc | SenseCode.CapacityDataChanged.Ascq << 8), VirtioScsi.FeatureChange))
                entry.RaiseUnitAttention(SenseCode.CapacityDataChanged); // a driver without the event hears of it on its next command
        }
    }

    /// <summary>Queues an event for a driver that negotiated <paramref name="feature"/> and delivers what it can; false when there is no such driver.</summary>
    private bool PostEvent(uint type, int lun, uint reason, int feature)
    {
        lock (_eventLock)
        {
            if ((_features & (1UL << feature)) == 0 || _interrupts is null) return false;
            _events.Post(type, lun, reason);
        }
        DeliverEvents();
        return true;
    }

    private void DeliverEvents()
    {
        lock (_eventLock)
        {
            var queue = VirtioScsi.EventQueue < _queues.Count ? _queues[VirtioScsi.EventQueue] : null;
            if (_events.Deliver(queue) && queue!.ShouldInterrupt()) _interrupts?.QueueInterrupt(VirtioScsi.EventQueue);
        }
    }

    public VirtioScsiState SaveState()
    {
        var (events, missed) = _events.Save();
        var attentions = new List<ScsiUnitAttentionState>();
        for (int lun = 0; lun < VirtioScsi.LunCount; lun++)
            if (_target[lun]?.PeekUnitAttention() is { } a) attentions.Add(new ScsiUnitAttentionState(lun, a.Key, a.Asc, a.Ascq));
        return new VirtioScsiState(_cdbSize, _senseSize, events, missed, [.. attentions]);
    }

    /// <summary>Applies a saved state after the transport re-activated the queues (the disks are attached from configuration first).</summary>
    public void RestoreState(VirtioScsiState s)
    {
        if (Array.Find(s.UnitAttentions, a => a.Lun is < 0 or >= VirtioScsi.LunCount) is { } bad)
            throw new InvalidDataException($"{Name}: the saved state names LUN {bad.Lun}; a controller has LUNs 0 to {VirtioScsi.LunCount - 1}");
        (_cdbSize, _senseSize) = (Math.Clamp(s.CdbSize, 6, VirtioScsi.MaxCdbSize), Math.Clamp(s.SenseSize, 18, VirtioScsi.MaxSenseSize));
        _events.Restore(s.Events, s.EventsMissed);
        foreach (var a in s.UnitAttentions) _target[a.Lun]?.RaiseUnitAttention(new SenseCode(a.Key, a.Asc, a.Ascq));
    }

    public void Dispose()
    {
        _retry.Dispose();
        for (int lun = 0; lun < VirtioScsi.LunCount; lun++)
            if (_target[lun] is { } entry) entry.Disk.CapacityChanged -= OnCapacityChanged;
    }
}
