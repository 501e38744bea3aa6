namespace HyperSharp.Machine.Virtio.Net;

/// <summary>virtio-net numbers from the virtio 1.x specification, section 5.1 (Network Device).</summary>
internal static class VirtioNet
{
    public const ushort DeviceType = 1;

    public const int FeatureCsum = 0, FeatureGuestCsum = 1, FeatureMac = 5, FeatureMergeableRx = 15, FeatureStatus = 16,
        FeatureCtrlVq = 17, FeatureMq = 22;

    /// <summary>struct virtio_net_hdr with VERSION_1: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers.</summary>
    public const int HeaderSize = 12;
    public const byte FlagNeedsCsum = 1, FlagDataValid = 2;
    public const int CsumStartOffset = 6, CsumOffsetOffset = 8, NumBuffersOffset = 10;

    /// <summary>Configuration space: mac[6], status, max_virtqueue_pairs, mtu.</summary>
    public const int ConfigSize = 12;
    public const ushort StatusLinkUp = 1;

    public const byte CtrlRx = 0, CtrlMac = 1, CtrlMq = 4;
    public const byte CtrlMqPairsSet = 0;
    public const byte AckOk = 0, AckError = 1;

    /// <summary>Largest queue-pair count we offer (Linux uses one per vCPU).</summary>
    public const int MaxQueuePairs = 16;
}
