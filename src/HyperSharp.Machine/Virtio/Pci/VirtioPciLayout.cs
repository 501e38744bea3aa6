namespace HyperSharp.Machine.Virtio.Pci;

/// <summary>Where each virtio structure lives inside our BAR 0, and the register offsets of the common configuration (virtio 1.x 4.1.4.3).</summary>
internal static class VirtioPciLayout
{
    public const int CommonOffset = 0x0000, CommonLength = 0x40;
    public const int IsrOffset = 0x1000, IsrLength = 1;
    public const int DeviceOffset = 0x2000, DeviceLength = 0x1000;
    public const int NotifyOffset = 0x3000, NotifyMultiplier = 4;
    public const int MsixTableOffset = 0x4000, MsixPbaOffset = 0x5000;
    public const ulong BarSize = 0x8000;

    public const int DeviceFeatureSelect = 0x00, DeviceFeature = 0x04, DriverFeatureSelect = 0x08, DriverFeature = 0x0C,
        ConfigMsixVector = 0x10, NumQueues = 0x12, DeviceStatus = 0x14, ConfigGeneration = 0x15, QueueSelect = 0x16,
        QueueSize = 0x18, QueueMsixVector = 0x1A, QueueEnable = 0x1C, QueueNotifyOff = 0x1E, QueueDesc = 0x20,
        QueueDriver = 0x28, QueueDevice = 0x30;

    public const byte StatusAcknowledge = 1, StatusDriver = 2, StatusDriverOk = 4, StatusFeaturesOk = 8, StatusNeedsReset = 64, StatusFailed = 128;
    public const ushort NoVector = 0xFFFF;
    public const ulong FeatureVersion1 = 1UL << 32;
}
