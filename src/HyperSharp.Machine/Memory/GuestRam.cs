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
    private readonly MemorySlot[] _slots = slots.OrderBy(s => s.GuestAddress).ToArray();

    /// <summary>Devices call this after writing guest RAM through a span (DMA), so the backend hears of it.</summary>
    public void NotifyWritten(ulong address, ulong length) => deviceWrote?.Invoke(address, length);

    public IReadOnlyList<MemorySlot> Slots => _slots;

    /// <summary>A span over guest RAM at <paramref name="address"/>; throws if any byte is not RAM.</summary>
    public Span<byte> GetSpan(ulong address, int length)
    {
        if (length < 0) throw new GuestMemoryAccessException(address, (ulong)length, 0);
        foreach (var s in _slots)
        {
            if (address < s.GuestAddress || address - s.GuestAddress >= s.Size) continue;
            ulong offset = address - s.GuestAddress;
            if ((ulong)length > s.Size - offset) break; // straddles the end of the slot
            return s.Memory.GetSpan(s.MemoryOffset + offset, length);
        }
        throw new GuestMemoryAccessException(address, (ulong)length, _slots.Length == 0 ? 0 : _slots[^1].GuestAddress + _slots[^1].Size);
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
