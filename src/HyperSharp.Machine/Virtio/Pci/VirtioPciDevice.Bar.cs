using System.Buffers.Binary;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Virtio.Queue;
using static HyperSharp.Machine.Virtio.Pci.VirtioPciLayout;

namespace HyperSharp.Machine.Virtio.Pci;

public sealed partial class VirtioPciDevice
{
    /// <summary>BAR 0: dispatches to the common configuration, ISR, device configuration, notify area and MSI-X.</summary>
    private sealed class Bar0(VirtioPciDevice owner) : IMmioDevice
    {
        public string Name => owner.Name + "-bar0";

        public void Read(ulong offset, Span<byte> data) => owner.BarRead((int)offset, data);

        public void Write(ulong offset, ReadOnlySpan<byte> data) => owner.BarWrite((int)offset, data);
    }

    private void BarRead(int offset, Span<byte> data)
    {
        data.Clear();
        if (offset is >= DeviceOffset and < DeviceOffset + DeviceLength) { _device.ReadConfig(offset - DeviceOffset, data); return; }
        lock (_lock)
        {
            switch (offset)
            {
                case >= CommonOffset and < CommonOffset + CommonLength: Put(data, ReadCommon(offset - CommonOffset)); break;
                case IsrOffset:
                    data[0] = _isr; // reading acknowledges
                    _isr = 0;
                    SetIntx(false);
                    break;
                case >= MsixTableOffset and < MsixPbaOffset: _msix.ReadTable(offset - MsixTableOffset, data); break;
                case >= MsixPbaOffset and < (int)BarSize: _msix.ReadPending(offset - MsixPbaOffset, data); break;
            }
        }
    }

    private void BarWrite(int offset, ReadOnlySpan<byte> data)
    {
        if (offset is >= DeviceOffset and < DeviceOffset + DeviceLength) { _device.WriteConfig(offset - DeviceOffset, data); return; }
        if (offset is >= NotifyOffset and < MsixTableOffset) { Notify((offset - NotifyOffset) / NotifyMultiplier); return; }
        lock (_lock)
        {
            if (offset is >= CommonOffset and < CommonOffset + CommonLength) WriteCommon(offset - CommonOffset, data);
            else if (offset is >= MsixTableOffset and < MsixPbaOffset && _msix.WriteTable(offset - MsixTableOffset, data)) DeliverPending();
        }
    }

    private static void Put(Span<byte> data, ulong value)
    {
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(value >> (8 * i));
    }

    private VirtioQueueConfig? Selected => _queueSelect < _queues.Length ? _queues[_queueSelect] : null;

    private ulong ReadCommon(int register)
    {
        var q = Selected;
        // Fields are read at their own offset; a read in the middle of a field returns its upper bytes.
        (int Start, ulong Value) field = register switch
        {
            >= DeviceFeatureSelect and < DeviceFeature => (DeviceFeatureSelect, _deviceFeatureSelect),
            >= DeviceFeature and < DriverFeatureSelect => (DeviceFeature, _deviceFeatureSelect < 2 ? (uint)(_device.DeviceFeatures >> (int)(32 * _deviceFeatureSelect)) : 0u),
            >= DriverFeatureSelect and < DriverFeature => (DriverFeatureSelect, _driverFeatureSelect),
            >= DriverFeature and < ConfigMsixVector => (DriverFeature, _driverFeatureSelect < 2 ? (uint)(_driverFeatures >> (int)(32 * _driverFeatureSelect)) : 0u),
            >= ConfigMsixVector and < NumQueues => (ConfigMsixVector, _configVector),
            >= NumQueues and < DeviceStatus => (NumQueues, (ulong)_queues.Length),
            DeviceStatus => (DeviceStatus, _status),
            ConfigGeneration => (ConfigGeneration, _generation),
            >= QueueSelect and < QueueSize => (QueueSelect, _queueSelect),
            >= QueueSize and < QueueMsixVector => (QueueSize, q?.Size ?? 0),
            >= QueueMsixVector and < QueueEnable => (QueueMsixVector, q?.MsixVector ?? NoVector),
            >= QueueEnable and < QueueNotifyOff => (QueueEnable, q is { Enabled: true } ? 1u : 0u),
            >= QueueNotifyOff and < QueueDesc => (QueueNotifyOff, _queueSelect),
            >= QueueDesc and < QueueDriver => (QueueDesc, q?.Descriptors ?? 0),
            >= QueueDriver and < QueueDevice => (QueueDriver, q?.Driver ?? 0),
            >= QueueDevice and < QueueDevice + 8 => (QueueDevice, q?.Device ?? 0),
            _ => (register, 0),
        };
        return field.Value >> (8 * (register - field.Start));
    }

    private void WriteCommon(int register, ReadOnlySpan<byte> data)
    {
        ulong value = 0;
        for (int i = 0; i < data.Length; i++) value |= (ulong)data[i] << (8 * i);
        var q = Selected;
        bool live = (_status & StatusDriverOk) != 0;
        switch (register)
        {
            case DeviceFeatureSelect: _deviceFeatureSelect = (uint)value; break;
            case DriverFeatureSelect: _driverFeatureSelect = (uint)value; break;
            case DriverFeature when (_status & StatusFeaturesOk) == 0 && _driverFeatureSelect < 2:
                int shift = (int)(32 * _driverFeatureSelect);
                _driverFeatures = (_driverFeatures & ~(0xFFFF_FFFFUL << shift)) | ((value & 0xFFFF_FFFF) << shift);
                break;
            case ConfigMsixVector: _configVector = value < (ulong)_msix.Count ? (ushort)value : NoVector; break;
            case DeviceStatus: WriteStatus((byte)value); break;
            case QueueSelect: _queueSelect = (ushort)value; break;
            case QueueSize when q is not null && !live:
                // The driver may shrink a queue; it must stay a power of two no larger than the maximum.
                ushort size = (ushort)value;
                if (size != 0 && (size & (size - 1)) == 0 && size <= _device.MaxQueueSize) q.Size = size;
                break;
            case QueueMsixVector when q is not null: q.MsixVector = value < (ulong)_msix.Count ? (ushort)value : NoVector; break;
            case QueueEnable when q is not null && !live: q.Enabled = value == 1; break;
            case >= QueueDesc and < QueueDesc + 8 when q is not null && !live: q.Descriptors = Merge(q.Descriptors, register - QueueDesc, value, data.Length); break;
            case >= QueueDriver and < QueueDriver + 8 when q is not null && !live: q.Driver = Merge(q.Driver, register - QueueDriver, value, data.Length); break;
            case >= QueueDevice and < QueueDevice + 8 when q is not null && !live: q.Device = Merge(q.Device, register - QueueDevice, value, data.Length); break;
        }
    }

    /// <summary>64-bit queue addresses are often written as two 32-bit halves.</summary>
    private static ulong Merge(ulong current, int byteOffset, ulong value, int length)
    {
        ulong mask = (length >= 8 ? ulong.MaxValue : (1UL << (8 * length)) - 1) << (8 * byteOffset);
        return (current & ~mask) | ((value << (8 * byteOffset)) & mask);
    }

    private void WriteStatus(byte value)
    {
        if (value == 0) { ResetDevice(); return; }
        if ((value & StatusFeaturesOk) != 0 && (_status & StatusFeaturesOk) == 0)
        {
            // Accept only a subset of what we offered, and only modern drivers.
            bool ok = (_driverFeatures & ~_device.DeviceFeatures) == 0 && (_driverFeatures & FeatureVersion1) != 0;
            if (!ok) value &= unchecked((byte)~StatusFeaturesOk);
        }
        bool nowLive = (value & StatusDriverOk) != 0 && (_status & StatusDriverOk) == 0;
        _status = (byte)(value | (_status & StatusNeedsReset));
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
            var queues = _queues.Select(q => q.Enabled
                ? new SplitVirtqueue(_ram, q.Size, q.Descriptors, q.Driver, q.Device, (_driverFeatures & (1UL << 29)) != 0)
                : null).ToList();
            for (int i = 0; positions is not null && i < queues.Count && i < positions.Count; i++)
                if (queues[i] is { } live) (live.LastAvailable, live.UsedIndex) = positions[i];
            _activeQueues = queues;
            _device.Activate(_driverFeatures, queues, this);
            StartNotifyThreads();
        }
        catch (VirtqueueException e)
        {
            _log($"{Name}: cannot activate: {e.Message}; device needs reset");
            _status |= StatusNeedsReset;
        }
    }

    private void ResetDevice()
    {
        _notifyThreads?.Stop();
        _device.Reset();
        _activeQueues = [];
        foreach (var q in _queues) q.Reset(_device.MaxQueueSize);
        (_status, _driverFeatures, _isr, _configVector, _queueSelect, _deviceFeatureSelect, _driverFeatureSelect) = (0, 0, 0, NoVector, 0, 0, 0);
        SetIntx(false);
    }
}
