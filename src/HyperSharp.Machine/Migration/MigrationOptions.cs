namespace HyperSharp.Machine.Migration;

/// <summary>How the source decides that pre-copy is done and the VM may pause for the last pages.</summary>
public sealed record MigrationOptions
{
    /// <summary>The pause the guest may see: pre-copy ends once the dirty pages left would go over the link in this time.</summary>
    public TimeSpan DowntimeTarget { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Pre-copy rounds after the first full pass at most; then the VM pauses whatever is left (a guest that dirties faster than the link).</summary>
    public int MaxRounds { get; init; } = 30;

    /// <summary>Throttle the processors (see <see cref="VcpuThrottle"/>) when the guest dirties memory faster than the link carries it.</summary>
    public bool AutoConverge { get; init; } = true;

    /// <summary>How long the source waits, after Commit, for the destination's word that it owns the VM; past it the handover is in doubt.</summary>
    public TimeSpan HandoverTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Reports each finished round (progress); called on the migrating thread.</summary>
    public Action<MigrationRound>? Progress { get; init; }
}

/// <summary>
/// One round of the migration: pre-copy rounds are numbered from 0 (all of memory); the last one ran with the VM paused.
/// <paramref name="ThrottlePercent"/> is the share of time auto-converge kept the processors parked during the round.
/// </summary>
public sealed record MigrationRound(int Number, long Pages, long Bytes, TimeSpan Duration, bool Paused, int ThrottlePercent = 0);

/// <summary>What a finished migration did: its rounds, what went over the stream, how long it took and how long the guest stood still.</summary>
public sealed record MigrationResult(IReadOnlyList<MigrationRound> Rounds, long BytesSent, long PagesSent, TimeSpan Total, TimeSpan Downtime)
{
    public override string ToString() =>
        $"{Rounds.Count} rounds, {PagesSent} pages, {BytesSent / (1 << 20)} MiB sent in {Total.TotalMilliseconds:0} ms, downtime {Downtime.TotalMilliseconds:0.0} ms";
}
