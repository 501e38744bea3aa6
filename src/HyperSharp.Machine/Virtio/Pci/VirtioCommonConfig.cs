using static HyperSharp.Machine.Virtio.Pci.VirtioPciLayout;

namespace HyperSharp.Machine.Virtio.Pci;

/// <summary>
/// The common configuration structure's registers (virtio 1.x 4.1.4.3) as the driver programs them: feature
/// negotiation, the configuration vector, device status and generation, and each queue's size, vector, enable and
/// addresses. A status write is handed to <paramref name="statusWritten"/>, since it starts or resets the device.
/// Callers hold the transport's lock.
/// </summary>
internal sealed class VirtioCommonConfig(IVirtioDevice device, int msixVectors, Action<byte> statusWritten)
{
    public readonly VirtioQueueConfig[] Queues = CreateQueues(device);
    public ulong DriverFeatures;
    public ushort ConfigVector = NoVector, SelectedQueue;
    public byte Status, Generation;
    private uint _deviceFeatureSelect, _driverFeatureSelect;

    private static VirtioQueueConfig[] CreateQueues(IVirtioDevice device)
    {
        var queues = new VirtioQueueConfig[device.QueueCount];
        for (int i = 0; i < queues.Length; i++) queues[i] = new VirtioQueueConfig(device.MaxQueueSize);
        return queues;
    }

    /// <summary>True once the driver set DRIVER_OK and the device has not asked for a reset.</summary>
    public bool Live => (Status & StatusDriverOk) != 0 && (Status & StatusNeedsReset) == 0;

    private VirtioQueueConfig? Selected => SelectedQueue < Queues.Length ? Queues[SelectedQueue] : null;

    /// <summary>Back to the state after power-on, status included (the driver wrote 0 to the status).</summary>
    public void Reset()
    {
        foreach (var q in Queues) q.Reset(device.MaxQueueSize);
        (Status, DriverFeatures, ConfigVector, SelectedQueue, _deviceFeatureSelect, _driverFeatureSelect) = (0, 0, NoVector, 0, 0, 0);
    }

    public ulong Read(int register)
    {
        var q = Selected;
        // Fields are read at their own offset; a read in the middle of a field returns its upper bytes.
        (int Start, ulong Value) field = register switch
        {
            >= DeviceFeatureSelect and < DeviceFeature => (DeviceFeatureSelect, _deviceFeatureSelect),
            >= DeviceFeature and < DriverFeatureSelect => (DeviceFeature, _deviceFeatureSelect < 2 ? (uint)(device.DeviceFeatures >> (int)(32 * _deviceFeatureSelect)) : 0u),
            >= DriverFeatureSelect and < DriverFeature => (DriverFeatureSelect, _driverFeatureSelect),
            >= DriverFeature and < ConfigMsixVector => (DriverFeature, _driverFeatureSelect < 2 ? (uint)(DriverFeatures >> (int)(32 * _driverFeatureSelect)) : 0u),
            >= ConfigMsixVector and < NumQueues => (ConfigMsixVector, ConfigVector),
            >= NumQueues and < DeviceStatus => (NumQueues, (ulong)Queues.Length),
            DeviceStatus => (DeviceStatus, Status),
            ConfigGeneration => (ConfigGeneration, Generation),
            >= QueueSelect and < QueueSize => (QueueSelect, SelectedQueue),
            >= QueueSize and < QueueMsixVector => (QueueSize, q?.Size ?? 0),
            >= QueueMsixVector and < QueueEnable => (QueueMsixVector, q?.MsixVector ?? NoVector),
            >= QueueEnable and < QueueNotifyOff => (QueueEnable, q is { Enabled: true } ? 1u : 0u),
            >= QueueNotifyOff and < QueueDesc => (QueueNotifyOff, SelectedQueue),
            >= QueueDesc and < QueueDriver => (QueueDesc, q?.Descriptors ?? 0),
            >= QueueDriver and < QueueDevice => (QueueDriver, q?.Driver ?? 0),
            >= QueueDevice and < QueueDevice + 8 => (QueueDevice, q?.Device ?? 0),
            _ => (register, 0),
        };
        return field.Value >> (8 * (register - field.Start));
    }

    public void Write(int register, ReadOnlySpan<byte> data)
    {
        ulong value = 0;
        for (int i = 0; i < data.Length; i++) value |= (ulong)data[i] << (8 * i);
        var q = Selected;
        bool live = (Status & StatusDriverOk) != 0;
        switch (register)
        {
            case DeviceFeatureSelect: _deviceFeatureSelect = (uint)value; break;
            case DriverFeatureSelect: _driverFeatureSelect = (uint)value; break;
            case DriverFeature when (Status & StatusFeaturesOk) == 0 && _driverFeatureSelect < 2:
                int shift = (int)(32 * _driverFeatureSelect);
                DriverFeatures = (DriverFeatures & ~(0xFFFF_FFFFUL << shift)) | ((value & 0xFFFF_FFFF) << shift);
                break;
            case ConfigMsixVector: ConfigVector = value < (ulong)msixVectors ? (ushort)value : NoVector; break;
            case DeviceStatus: statusWritten((byte)value); break;
            case QueueSelect: SelectedQueue = (ushort)value; break;
            case QueueSize when q is not null && !live:
                // The driver may shrink a queue; it must stay a power of two no larger than the maximum.
                ushort size = (ushort)value;
                if (size != 0 && (size & (size - 1)) == 0 && size <= device.MaxQueueSize) q.Size = size;
                break;
            case QueueMsixVector when q is not null: q.MsixVector = value < (ulong)msixVectors ? (ushort)value : NoVector; break;
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
}
