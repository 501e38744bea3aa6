using System.Runtime.InteropServices;
using HyperSharp.Hypervisor;

namespace HyperSharp.Machine.Memory;

/// <summary>
/// Guest physical address space as devices see it (their DMA): the RAM slots of the machine,
/// looked up by guest physical address. Every access is bounds-checked and must lie inside one
/// slot; anything else — MMIO holes, addresses past RAM, ranges straddling slots — is refused with
/// <see cref="GuestMemoryAccessException"/>, so a hostile guest cannot point a device at host memory.
/// </summary>
public sealed class GuestRam(IReadOnlyList<MemorySlot> slots, Action<ulong, ulong>? deviceWrote = null)
{
    // Replaced whole when memory is hot-added, so lookups on device threads never see a half-updated list.
    private readonly Lock _adding = new();
    private volatile MemorySlot[] _slots = slots.OrderBy(s => s.GuestAddress).ToArray();

    /// <summary>Makes a slot the partition just mapped (memory hot-add) reachable by devices.</summary>
    public void AddSlot(MemorySlot slot)
    {
        lock (_adding)
        {
            var current = _slots;
            if (current.Any(s => slot.GuestAddress < s.GuestAddress + s.Size && s.GuestAddress < slot.GuestAddress + slot.Size))
                throw new ArgumentException($"memory slot {slot.Id} at 0x{slot.GuestAddress:X} overlaps guest RAM");
            _slots = current.Append(slot).OrderBy(s => s.GuestAddress).ToArray();
        }
    }

    /// <summary>
    /// Gives the guest pages [address, address + length) back to the host (ballooned, reported free, unplugged): their
    /// host memory is freed now and they read as zeros later. Throws <see cref="GuestMemoryAccessException"/> unless
    /// the range is whole 4 KiB pages of RAM.
    /// </summary>
    public void Discard(ulong address, ulong length)
    {
        ulong end = address + length;
        if (end < address) throw new GuestMemoryAccessException(address, length, 0);
        // Checked whole first, so a range that is partly not RAM frees nothing.
        for (ulong at = address; at < end;) at = SlotEnd(at, address, length);
        for (ulong at = address; at < end;)
        {
            var s = SlotAt(at)!;
            ulong offset = at - s.GuestAddress, n = Math.Min(end - at, s.Size - offset);
            s.Memory.Discard(s.MemoryOffset + offset, n); // a run may go on into the next slot (slots of 1 TiB sit back to back)
            at += n;
        }
        NotifyWritten(address, length); // the contents changed (to zeros): cached code and dirty logs must hear of it
    }

    private MemorySlot? SlotAt(ulong address)
    {
        foreach (var s in _slots)
            if (address >= s.GuestAddress && address - s.GuestAddress < s.Size) return s;
        return null;
    }

    /// <summary>The end of the slot holding <paramref name="at"/>; throws (naming the whole range) when it is not RAM.</summary>
    private ulong SlotEnd(ulong at, ulong address, ulong length) =>
        SlotAt(at) is { } s ? s.GuestAddress + s.Size : throw new GuestMemoryAccessException(address, length, 0);

    /// <summary>Devices call this after writing guest RAM through a span (DMA), so the backend hears of it.</summary>
    public void NotifyWritten(ulong address, ulong length) => deviceWrote?.Invoke(address, length);

    public IReadOnlyList<MemorySlot> Slots => _slots;

    /// <summary>A span over guest RAM at <paramref name="address"/>; throws if any byte is not RAM.</summary>
    public Span<byte> GetSpan(ulong address, int length)
    {
        if (length < 0) throw new GuestMemoryAccessException(address, (ulong)length, 0);
        var slots = _slots;
        foreach (var s in slots)
        {
            if (address < s.GuestAddress || address - s.GuestAddress >= s.Size) continue;
            ulong offset = address - s.GuestAddress;
            if ((ulong)length > s.Size - offset) break; // straddles the end of the slot
            return s.Memory.GetSpan(s.MemoryOffset + offset, length);
        }
        throw new GuestMemoryAccessException(address, (ulong)length, slots.Length == 0 ? 0 : slots[^1].GuestAddress + slots[^1].Size);
    }

    public bool Contains(ulong address, ulong length)
    {
        foreach (var s in _slots)
            if (address >= s.GuestAddress && address - s.GuestAddress < s.Size) return length <= s.Size - (address - s.GuestAddress);
        return false;
    }

    public T Read<T>(ulong address) where T : unmanaged => MemoryMarshal.Read<T>(GetSpan(address, Marshal.SizeOf<T>()));

    public void Write<T>(ulong address, T value) where T : unmanaged
    {
        MemoryMarshal.Write(GetSpan(address, Marshal.SizeOf<T>()), in value);
        NotifyWritten(address, (ulong)Marshal.SizeOf<T>());
    }

    public void Read(ulong address, Span<byte> destination) => GetSpan(address, destination.Length).CopyTo(destination);

    public void Write(ulong address, ReadOnlySpan<byte> source)
    {
        source.CopyTo(GetSpan(address, source.Length));
        NotifyWritten(address, (ulong)source.Length);
    }
}
