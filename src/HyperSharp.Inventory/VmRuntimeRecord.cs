namespace HyperSharp.Inventory;

/// <summary>The VM's power state as last recorded on disk by the host.</summary>
public enum RecordedState { Off, Saved, Running }

/// <summary>
/// What the host knows about a VM beyond its configuration (runtime.json): the last recorded state, why
/// it last went Off, and whether it was running when the host stopped (for StartIfRunning). Only the host
/// writes it; the running worker itself is found through /proc, so a host killed between launching a
/// worker and writing this record still finds it.
/// </summary>
public sealed record VmRuntimeRecord
{
    public RecordedState State { get; init; }
    public string LastOffReason { get; init; } = "";
    public long StartedAtUnixMs { get; init; }
    public bool RunningWhenHostStopped { get; init; }
    /// <summary>
    /// The host whose worker runs the VM (<c>machine:inventory root</c>), written with Running. On shared storage (a
    /// clustered VM's folder) another node may run it now: a host that finds the record Running for someone else leaves
    /// it alone. Null in records older builds wrote: those are this host's.
    /// </summary>
    public string? Host { get; init; }
}

/// <summary>
/// What a worker leaves (exit.json) when it ends on purpose: why, and whether it saved the VM. A worker
/// that ends without one crashed or was killed.
/// </summary>
public sealed record WorkerExitRecord
{
    public int Pid { get; init; }
    public bool Saved { get; init; }
    public string Reason { get; init; } = "";
}
