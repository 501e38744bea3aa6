using System.Buffers.Binary;
using HyperSharp.Hypervisor;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Pci;
using HyperSharp.Machine.Virtio.Queue;
using static HyperSharp.Machine.Virtio.Pci.VirtioPciLayout;

namespace HyperSharp.Machine.Virtio.Pci;

/// <summary>
/// The virtio-over-PCI transport, modern (1.x) interface only: vendor 0x1AF4, device 0x1040 + type,
/// the common/notify/ISR/device capabilities and an MSI-X table in one 64-bit memory BAR. It
/// negotiates features, takes the queue addresses, and raises MSI-X messages (or INTx with the ISR
/// when MSI-X is off). A guest that breaks the queue rules gets DEVICE_NEEDS_RESET, never a host fault.
/// The registers live in <see cref="VirtioCommonConfig"/>, BAR 0's decoding in <see cref="VirtioPciBar"/>.
/// </summary>
public sealed class VirtioPciDevice : IPciDevice, IVirtioInterrupts, IDisposable
{
    private readonly IVirtioDevice _device;
    private readonly GuestRam _ram;
    private readonly IMsiSink _msi;
    private readonly IInterruptLine _intx;
    private readonly Action<string> _log;
    private readonly VirtioCommonConfig _common;
    private readonly VirtioQueueConfig[] _queues;
    private readonly MsixTable _msix;
    private readonly Lock _lock = new();
    private readonly VirtioPciBar _bar;
    private int _msixCapability;
    private byte _isr;
    private bool _intxLevel;
    private IReadOnlyList<SplitVirtqueue?> _activeQueues = [];
    /// <summary>
    /// One lock per queue, and the only one a request takes: a queue is served by one thread at a time (its notify
    /// thread or a vCPU), so the queue and the device's per-queue state need no lock of their own.
    /// </summary>
    private readonly object[] _queueGates;
    private readonly QueueNotifyThreads? _notifyThreads;

    /// <param name="doorbells">Registers a queue notify address with the backend (IPartition.RegisterDoorbell);
    /// with it each live queue is served on a thread of its own, without it on the vCPU that notifies.</param>
    /// <param name="msixVectors">MSI-X table size: by default one vector per queue plus one for configuration changes;
    /// fewer (at least 2) make the driver share one vector among the queues (Linux falls back to that by itself).</param>
    public VirtioPciDevice(IVirtioDevice device, GuestRam ram, IMsiSink msi, IInterruptLine intx, Action<string>? log = null,
        Func<Doorbell, GuestEvent, IDisposable>? doorbells = null, int? msixVectors = null)
    {
        _device = device;
        _ram = ram;
        _msi = msi;
        _intx = intx;
        _log = log ?? (_ => { });
        _msix = new MsixTable(Math.Clamp(msixVectors ?? device.QueueCount + 1, 2, device.QueueCount + 1));
        _common = new VirtioCommonConfig(device, _msix.Count, WriteStatus);
        _queues = _common.Queues;
        _bar = new VirtioPciBar(this, device, _common, _msix, _lock);
        Config = BuildConfigSpace(device);
        _queueGates = Enumerable.Range(0, device.QueueCount).Select(_ => new object()).ToArray();
        if (doorbells != null) _notifyThreads = new QueueNotifyThreads(device.Name, doorbells, Notify, _log);
    }

    public string Name => _device.Name;

    /// <summary>The virtio device this transport carries.</summary>
    internal IVirtioDevice Inner => _device;

    public PciConfigSpace Config { get; }

    public IIoDevice BarDevice(int index) => index == 0 ? _bar : throw new ArgumentOutOfRangeException(nameof(index));

    private PciConfigSpace BuildConfigSpace(IVirtioDevice device)
    {
        uint classCode = device.DeviceType switch { 1 => 0x020000u, 2 => 0x018000u, 8 => 0x010000u, _ => 0xFF0000u }; // network, other mass storage, SCSI
        var config = new PciConfigSpace(0x1AF4, (ushort)(0x1040 + device.DeviceType), classCode, 1, 0x1AF4, 0x0040, 1);
        config.AddBar(new PciBar(0, BarSize, PciBarKind.Memory64));
        AddVirtioCap(config, 1, CommonOffset, CommonLength);
        AddVirtioCap(config, 2, NotifyOffset, (uint)(_queues.Length * NotifyMultiplier), NotifyMultiplier);
        AddVirtioCap(config, 3, IsrOffset, IsrLength);
        AddVirtioCap(config, 4, DeviceOffset, (uint)Math.Max(device.ConfigSize, 4));
        Span<byte> msix = stackalloc byte[10];
        BinaryPrimitives.WriteUInt16LittleEndian(msix, (ushort)(_msix.Count - 1));
        BinaryPrimitives.WriteUInt32LittleEndian(msix[2..], MsixTableOffset); // BIR 0
        BinaryPrimitives.WriteUInt32LittleEndian(msix[6..], MsixPbaOffset);
        _msixCapability = config.AddCapability(0x11, msix, [0x00, 0xC0]); // enable and function-mask bits are writable
        return config;
    }

    private static void AddVirtioCap(PciConfigSpace config, byte type, uint offset, uint length, uint? multiplier = null)
    {
        Span<byte> body = stackalloc byte[multiplier is null ? 14 : 18];
        body[0] = (byte)(body.Length + 2); // cap_len counts the id and next bytes
        body[1] = type;
        body[2] = 0;                       // BAR 0
        BinaryPrimitives.WriteUInt32LittleEndian(body[6..], offset);
        BinaryPrimitives.WriteUInt32LittleEndian(body[10..], length);
        if (multiplier is uint m) BinaryPrimitives.WriteUInt32LittleEndian(body[14..], m);
        config.AddCapability(0x09, body);
    }

    private bool MsixEnabled => (Config.Raw[_msixCapability + 3] & 0x80) != 0;
    private bool MsixMasked => (Config.Raw[_msixCapability + 3] & 0x40) != 0;

    /// <summary>
    /// A queue completed requests. The common case — MSI-X on, function and vector unmasked — sends the message
    /// without the device lock, so a queue's only lock is its gate: the entry is read as it stands (a driver
    /// reprograms an entry only while it is masked), and a vector found masked takes the locked path, which
    /// records it pending under the lock that unmasking takes too, so no interrupt is lost.
    /// </summary>
    public void QueueInterrupt(int queue)
    {
        ushort vector = _queues[queue].MsixVector;
        if (MsixEnabled && !MsixMasked && vector < _msix.Count && !_msix.IsMasked(vector))
        {
            var (address, data) = _msix.Message(vector);
            _msi.Signal(address, data);
            return;
        }
        lock (_lock) Interrupt(vector, 1);
    }

    public void ConfigChanged()
    {
        lock (_lock)
        {
            _common.Generation++;
            Interrupt(_common.ConfigVector, 2);
        }
    }

    /// <summary>On a pool thread, through the queue's gate as a doorbell would: the caller may hold locks of its own.</summary>
    public void ServeAgain(int queue) => ThreadPool.UnsafeQueueUserWorkItem(static s => s.Device.Notify(s.Queue), (Device: this, Queue: queue), preferLocal: false);

    /// <summary>Sends the vector's MSI-X message, or sets the ISR bit and raises INTx when MSI-X is off. Caller holds the lock.</summary>
    private void Interrupt(ushort vector, byte isrBit)
    {
        if (MsixEnabled)
        {
            if (vector == NoVector || vector >= _msix.Count) return;
            if (MsixMasked || _msix.IsMasked(vector)) { _msix.SetPending(vector); return; }
            var (address, data) = _msix.Message(vector);
            _msi.Signal(address, data);
            return;
        }
        _isr |= isrBit;
        SetIntx(true);
    }

    private void SetIntx(bool level)
    {
        if ((Config.Command & PciConfigSpace.CommandIntxDisable) != 0) level = false;
        if (level == _intxLevel) return;
        _intxLevel = level;
        _intx.Set(level);
    }

    void IPciDevice.ConfigWritten(int offset, int length)
    {
        // The notify addresses move with BAR 0 and vanish when memory decoding is off.
        if (offset < 0x18 && offset + length > 0x04 && (offset < 0x06 || offset + length > 0x10)) lock (_lock) StartNotifyThreads();
        // Unmasking (function mask cleared, or MSI-X turned on) delivers what was held pending.
        if (offset <= _msixCapability + 3 && offset + length > _msixCapability + 2) lock (_lock) DeliverPending();
    }

    internal void DeliverPending()
    {
        if (!MsixEnabled || MsixMasked) return;
        foreach (int v in _msix.TakeDeliverable()) { var (a, d) = _msix.Message(v); _msi.Signal(a, d); }
    }

    /// <summary>The guest wrote a queue's notify address (on a vCPU thread, or the queue's notify thread).</summary>
    internal void Notify(int queue)
    {
        if (queue < 0 || queue >= _queues.Length) return;
        lock (_queueGates[queue])
        {
            if (!_common.Live) return;
            try { _device.ProcessQueue(queue); }
            catch (Exception e) when (e is VirtqueueException or GuestMemoryAccessException)
            {
                MarkBroken($"queue {queue}: {e.Message}");
            }
        }
    }

    /// <summary>(Re)starts the notify threads for the live queues at BAR 0's current address. Caller holds the lock.</summary>
    private void StartNotifyThreads()
    {
        if (_notifyThreads is null) return;
        _notifyThreads.Stop();
        ulong bar = Config.BarAddress(0);
        if (!_common.Live || bar == 0 || (Config.Command & PciConfigSpace.CommandMemory) == 0) return;
        _notifyThreads.Start(bar + NotifyOffset, NotifyMultiplier, _queues.Select(q => q.Enabled).ToArray());
    }

    /// <summary>
    /// Runs <paramref name="action"/> with no queue being served and every notification already taken served
    /// first, so a saved state holds no request half done and loses no doorbell the guest rang.
    /// </summary>
    private T WithQueuesQuiet<T>(Func<T> action)
    {
        // Gates before the device lock, as the serving threads take them (a request raises its interrupt under the lock).
        int taken = 0;
        try
        {
            for (; taken < _queueGates.Length; taken++) Monitor.Enter(_queueGates[taken]);
            _notifyThreads?.ServePending();
            return action();
        }
        finally
        {
            for (int i = 0; i < taken; i++) Monitor.Exit(_queueGates[i]);
        }
    }

    /// <summary>Stops the notify threads (the device is being removed or the VM torn down).</summary>
    public void Dispose()
    {
        lock (_lock) _notifyThreads?.Stop();
    }

    /// <summary>Waits until no queue is being served (after <see cref="Dispose"/>, once the device is off the bus: then nothing starts again).</summary>
    public void WaitIdle() => WithQueuesQuiet(() => 0);

    private void MarkBroken(string why)
    {
        _log($"{Name}: the guest broke the virtio rules ({why}); device needs reset");
        lock (_lock) { _common.Status |= StatusNeedsReset; }
        ConfigChanged();
    }

    /// <summary>ISR read by the guest: returns it and clears it, which acknowledges the interrupt. Caller holds the lock.</summary>
    internal byte TakeIsr()
    {
        byte isr = _isr;
        _isr = 0;
        SetIntx(false);
        return isr;
    }

    /// <summary>The driver wrote the device status: 0 resets, FEATURES_OK checks the features, DRIVER_OK starts the queues. Caller holds the lock.</summary>
    private void WriteStatus(byte value)
    {
        if (value == 0) { ResetDevice(); return; }
        if ((value & StatusFeaturesOk) != 0 && (_common.Status & StatusFeaturesOk) == 0)
        {
            // Accept only a subset of what we offered, and only modern drivers.
            ulong features = _common.DriverFeatures;
            bool ok = (features & ~_device.DeviceFeatures) == 0 && (features & FeatureVersion1) != 0;
            if (!ok) value &= unchecked((byte)~StatusFeaturesOk);
        }
        bool nowLive = (value & StatusDriverOk) != 0 && (_common.Status & StatusDriverOk) == 0;
        _common.Status = (byte)(value | (_common.Status & StatusNeedsReset));
        if (nowLive) Activate();
    }

    /// <summary>
    /// Builds the live queues and hands them to the device. <paramref name="positions"/> (a restore's saved ring
    /// positions) are set before the device sees the queues, because a device may serve a queue as it activates.
    /// </summary>
    private void Activate(IReadOnlyList<(ushort LastAvailable, ushort UsedIndex)>? positions = null)
    {
        try
        {
            ulong features = _common.DriverFeatures;
            var queues = _queues.Select(q => q.Enabled
                ? new SplitVirtqueue(_ram, q.Size, q.Descriptors, q.Driver, q.Device, (features & (1UL << 29)) != 0)
                : null).ToList();
            for (int i = 0; positions is not null && i < queues.Count && i < positions.Count; i++)
                if (queues[i] is { } live) (live.LastAvailable, live.UsedIndex) = positions[i];
            _activeQueues = queues;
            _device.Activate(features, queues, this);
            StartNotifyThreads();
        }
        catch (VirtqueueException e)
        {
            _log($"{Name}: cannot activate: {e.Message}; device needs reset");
            _common.Status |= StatusNeedsReset;
        }
    }

    private void ResetDevice()
    {
        _notifyThreads?.Stop();
        _device.Reset();
        _activeQueues = [];
        _common.Reset();
        _isr = 0;
        SetIntx(false);
    }

    public VirtioPciState SaveState() => WithQueuesQuiet(() =>
    {
        lock (_lock)
        {
            var queues = _queues.Select((q, i) =>
            {
                var live = i < _activeQueues.Count ? _activeQueues[i] : null;
                return new VirtioQueueState(q.Size, q.MsixVector, q.Enabled, q.Descriptors, q.Driver, q.Device, live?.LastAvailable ?? 0, live?.UsedIndex ?? 0);
            }).ToArray();
            var pending = new byte[(_msix.Count + 7) / 8];
            _msix.ReadPending(0, pending);
            var table = new byte[_msix.Count * 16];
            _msix.ReadTable(0, table);
            var c = _common;
            return new VirtioPciState(Config.Raw.ToArray(), c.DriverFeatures, c.Status, c.Generation, _isr, c.ConfigVector, c.SelectedQueue, queues, table, pending);
        }
    });

    /// <summary>Applies saved state to a freshly built device; live queues are re-activated at their saved positions.</summary>
    public void RestoreState(VirtioPciState s)
    {
        lock (_lock)
        {
            s.ConfigSpace.AsSpan(0, Math.Min(s.ConfigSpace.Length, Config.Raw.Length)).CopyTo(Config.Raw);
            var c = _common;
            (c.DriverFeatures, c.Status, c.Generation, _isr, c.ConfigVector, c.SelectedQueue) = (s.DriverFeatures, s.Status, s.Generation, s.Isr, s.ConfigVector, s.QueueSelect);
            _msix.WriteTable(0, s.MsixTable);
            for (int v = 0; v < _msix.Count; v++)
                if (v / 8 < s.MsixPending.Length && (s.MsixPending[v / 8] & (1 << (v % 8))) != 0) _msix.SetPending(v);
            for (int i = 0; i < _queues.Length && i < s.Queues.Length; i++)
            {
                var q = s.Queues[i];
                (_queues[i].Size, _queues[i].MsixVector, _queues[i].Enabled, _queues[i].Descriptors, _queues[i].Driver, _queues[i].Device) =
                    (q.Size, q.MsixVector, q.Enabled, q.Descriptors, q.Driver, q.Device);
            }
            if (_common.Live) Activate([.. s.Queues.Select(q => (q.LastAvailable, q.UsedIndex))]);
            if (_isr != 0 && !MsixEnabled) SetIntx(true);
        }
    }
}
