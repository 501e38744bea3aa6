using HyperSharp.Hypervisor;

namespace HyperSharp.Machine.Migration;

/// <summary>
/// The VM's dirty-page log over all its RAM slots while a migration runs: started before the first page is copied, read and
/// cleared once per round, stopped when the migration ends either way. Pages are named by their offset in guest memory.
/// </summary>
internal sealed class DirtyPageLog : IDisposable
{
    private readonly IPartition _partition;
    private readonly IDirtyPageTracking _tracking;
    private readonly IReadOnlyList<MemorySlot> _slots;
    private bool _started;

    public DirtyPageLog(IPartition partition, IReadOnlyList<MemorySlot> slots)
    {
        _partition = partition;
        _tracking = partition as IDirtyPageTracking
            ?? throw new MigrationException($"the backend's partition ({partition.GetType().Name}) cannot track dirty pages, which live migration needs");
        _slots = slots;
        _tracking.StartDirtyPageTracking();
        _started = true;
    }

    /// <summary>Pages written since the previous call (or the start): their memory offsets, in order, and clears the log.</summary>
    public List<ulong> Collect()
    {
        var pages = new List<ulong>();
        foreach (var slot in _slots)
        {
            ulong[] bits = _partition.GetAndClearDirtyPages(slot.Id);
            for (int w = 0; w < bits.Length; w++)
                for (ulong word = bits[w]; word != 0; word &= word - 1)
                {
                    ulong page = (ulong)w * 64 + (ulong)System.Numerics.BitOperations.TrailingZeroCount(word);
                    if (page < slot.PageCount) pages.Add(slot.MemoryOffset + page * MemorySlot.PageSize);
                }
        }
        return pages;
    }

    public void Dispose()
    {
        if (!_started) return;
        _started = false;
        _tracking.StopDirtyPageTracking();
    }
}
