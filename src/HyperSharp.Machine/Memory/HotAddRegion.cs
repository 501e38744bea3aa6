using HyperSharp.Hypervisor;

namespace HyperSharp.Machine.Memory;

/// <summary>
/// Guest-physical space kept above RAM for memory added while the guest runs, backed by the guest-memory block the
/// machine reserved for it (untouched, so free until used). It reaches the processors and devices only when first
/// needed: one more memory slot on the partition (KVM: a new memory region; Emulated: its RAM grows in place).
/// </summary>
public sealed class HotAddRegion(IPartition partition, GuestRam ram, GuestMemory memory, ulong start, ulong size, int slotId)
{
    private readonly Lock _lock = new();
    private volatile bool _mapped;

    public ulong Start => start;
    public ulong Size => size;
    public bool IsMapped => _mapped;

    /// <summary>Maps the region into the guest (once; later calls return at once). Thread-safe.</summary>
    public void EnsureMapped()
    {
        if (_mapped) return;
        lock (_lock)
        {
            if (_mapped) return;
            var slot = new MemorySlot(slotId, start, memory, start, size);
            partition.MapMemory(slot);
            ram.AddSlot(slot);
            _mapped = true;
        }
    }
}
