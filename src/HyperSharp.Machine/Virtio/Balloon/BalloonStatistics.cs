namespace HyperSharp.Machine.Virtio.Balloon;

/// <summary>
/// The guest's memory as its balloon driver last reported it (virtio 1.2 §5.5.6.3); a value the guest did not report
/// is null. Memory figures are bytes; swap figures are bytes moved; faults are counts.
/// </summary>
public sealed record BalloonStatistics
{
    public ulong? SwapIn { get; init; }
    public ulong? SwapOut { get; init; }
    public ulong? MajorFaults { get; init; }
    public ulong? MinorFaults { get; init; }
    /// <summary>Memory the guest is not using at all (Linux: MemFree).</summary>
    public ulong? FreeBytes { get; init; }
    /// <summary>Memory the guest can use (Linux: MemTotal, which shrinks as the balloon inflates unless it deflates on OOM).</summary>
    public ulong? TotalBytes { get; init; }
    /// <summary>Memory the guest could give to new work without swapping (Linux: MemAvailable): the input to a demand estimate.</summary>
    public ulong? AvailableBytes { get; init; }
    /// <summary>Memory in the guest's caches that it can drop.</summary>
    public ulong? CachesBytes { get; init; }

    /// <summary>When the host received the report.</summary>
    public DateTimeOffset ReceivedAt { get; init; }
}
