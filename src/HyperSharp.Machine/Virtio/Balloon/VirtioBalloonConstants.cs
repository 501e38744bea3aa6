namespace HyperSharp.Machine.Virtio.Balloon;

/// <summary>virtio-balloon's numbers (virtio 1.2 §5.5): feature bits, configuration layout, statistics tags.</summary>
internal static class VirtioBalloonConstants
{
    public const ushort DeviceType = 5;

    public const int FeatureStatsQueue = 1, FeatureDeflateOnOom = 2, FeaturePageReporting = 5;

    /// <summary>Balloon page numbers count 4 KiB pages, whatever the guest's page size (VIRTIO_BALLOON_PFN_SHIFT).</summary>
    public const int PageShift = 12;
    public const ulong PageSize = 1UL << PageShift;

    /// <summary>Configuration: num_pages (le32, the device's target) and actual (le32, what the driver holds).</summary>
    public const int ConfigNumPages = 0, ConfigActual = 4, ConfigSize = 8;

    /// <summary>One statistic on the stats queue: le16 tag, le64 value, packed.</summary>
    public const int StatEntrySize = 10;

    public const ushort StatSwapIn = 0, StatSwapOut = 1, StatMajorFaults = 2, StatMinorFaults = 3, StatFree = 4, StatTotal = 5,
        StatAvailable = 6, StatCaches = 7;
}
