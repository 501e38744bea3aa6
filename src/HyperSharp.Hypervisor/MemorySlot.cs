namespace HyperSharp.Hypervisor;

/// <summary>A range of <see cref="GuestMemory"/> mapped at a guest physical address.</summary>
/// <param name="Id">Slot number, unique in the partition; also names the slot for unmapping and the dirty log.</param>
/// <param name="GuestAddress">Guest physical address of the first byte (4 KiB aligned).</param>
/// <param name="Memory">The host memory that backs the slot.</param>
/// <param name="MemoryOffset">Offset of the slot's first byte in <paramref name="Memory"/> (4 KiB aligned).</param>
/// <param name="Size">Length in bytes (a multiple of 4 KiB).</param>
/// <param name="Flags">Read-only and dirty-tracking options.</param>
public sealed record MemorySlot(int Id, ulong GuestAddress, GuestMemory Memory, ulong MemoryOffset, ulong Size, MemorySlotFlags Flags = MemorySlotFlags.None)
{
    /// <summary>Guest page size that slots and the dirty log are counted in.</summary>
    public const ulong PageSize = 4096;

    /// <summary>Throws when the slot is misaligned or reaches past its memory; backends call this before mapping.</summary>
    public void Validate()
    {
        if (Id < 0)
            throw new HypervisorException($"Memory slot id {Id} is negative.");
        if (Size == 0 || Size % PageSize != 0 || GuestAddress % PageSize != 0 || MemoryOffset % PageSize != 0)
            throw new HypervisorException($"Memory slot {Id}: address 0x{GuestAddress:X}, offset 0x{MemoryOffset:X} and size 0x{Size:X} must be non-zero multiples of 4 KiB.");
        if (MemoryOffset > Memory.Size || Size > Memory.Size - MemoryOffset)
            throw new HypervisorException($"Memory slot {Id}: offset 0x{MemoryOffset:X} + size 0x{Size:X} is past the end of its guest memory (0x{Memory.Size:X}).");
        if (GuestAddress + Size < GuestAddress)
            throw new HypervisorException($"Memory slot {Id}: address 0x{GuestAddress:X} + size 0x{Size:X} wraps around.");
    }

    /// <summary>Number of 4 KiB pages in the slot.</summary>
    public ulong PageCount => Size / PageSize;
}

/// <summary>Per-slot options.</summary>
[Flags]
public enum MemorySlotFlags
{
    /// <summary>Readable and writable guest RAM without dirty tracking.</summary>
    None = 0,
    /// <summary>Guest reads hit the memory, guest writes become MMIO write exits (ROM, flash).</summary>
    ReadOnly = 1,
    /// <summary>The backend logs written pages for <see cref="IPartition.GetAndClearDirtyPages"/> (migration, incremental save).</summary>
    TrackDirtyPages = 2,
}
