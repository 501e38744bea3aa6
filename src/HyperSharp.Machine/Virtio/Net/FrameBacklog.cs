namespace HyperSharp.Machine.Virtio.Net;

/// <summary>
/// Frames that arrived while the guest had no receive buffers posted, held until it posts some (a
/// slow guest — the Emulated backend — refills late). Bounded: beyond it frames are dropped, as a
/// NIC's FIFO overflows. Slot arrays are reused, so a steady state allocates nothing.
/// </summary>
internal sealed class FrameBacklog(int capacity)
{
    private readonly byte[]?[] _slots = new byte[]?[capacity];
    private readonly int[] _lengths = new int[capacity];
    private int _head, _count;

    public int Count => _count;

    public bool TryAdd(ReadOnlySpan<byte> frame)
    {
        if (_count == capacity) return false;
        int at = (_head + _count) % capacity;
        if (_slots[at] is not { } slot || slot.Length < frame.Length) _slots[at] = slot = new byte[Math.Max(frame.Length, 2048)];
        frame.CopyTo(slot);
        _lengths[at] = frame.Length;
        _count++;
        return true;
    }

    public ReadOnlySpan<byte> Peek() => _slots[_head].AsSpan(0, _lengths[_head]);

    public void RemoveFirst() { _head = (_head + 1) % capacity; _count--; }

    public void Clear() => _head = _count = 0;
}
