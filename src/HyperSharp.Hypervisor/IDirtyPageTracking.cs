namespace HyperSharp.Hypervisor;

/// <summary>
/// Turns a partition's dirty-page log on and off while its processors run (live migration): what
/// <see cref="MemorySlotFlags.TrackDirtyPages"/> does for one slot from the moment it is mapped, for every RAM slot at once
/// and for a while. Both backends implement it on their partitions; a separate contract so <see cref="IPartition"/> stays as it is.
/// </summary>
public interface IDirtyPageTracking
{
    /// <summary>
    /// Starts logging: from now on every page the processors or devices (through <see cref="IPartition.NotifyDeviceWrite"/>)
    /// write shows in <see cref="IPartition.GetAndClearDirtyPages"/> for every mapped slot, until <see cref="StopDirtyPageTracking"/>.
    /// Writes before the call are not in the log. Thread-safe; processors may run.
    /// </summary>
    void StartDirtyPageTracking();

    /// <summary>Stops logging started by <see cref="StartDirtyPageTracking"/> (slots mapped with TrackDirtyPages keep theirs).</summary>
    void StopDirtyPageTracking();
}
