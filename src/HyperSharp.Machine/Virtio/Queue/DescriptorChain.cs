namespace HyperSharp.Machine.Virtio.Queue;

/// <summary>One buffer of a request: guest physical address, length, and whether the device may write it.</summary>
public readonly record struct GuestBuffer(ulong Address, uint Length, bool DeviceWritable);

/// <summary>
/// A request popped from the available ring: its head index (to return in the used ring) and its
/// buffers in order, device-readable ones first as the virtio spec requires. A device keeps one (or, to
/// gather several requests, a few) and <see cref="SplitVirtqueue.TryPop"/> refills it: the buffer array
/// grows to the longest chain seen and is reused, so serving a request allocates nothing.
/// </summary>
public sealed class DescriptorChain
{
    private GuestBuffer[] _buffers = new GuestBuffer[8];

    public ushort Head { get; private set; }

    /// <summary>The buffers, valid until the chain is refilled.</summary>
    public ReadOnlySpan<GuestBuffer> Buffers => _buffers.AsSpan(0, Count);

    public int Count { get; private set; }

    public ulong ReadableBytes => Sum(writable: false);

    public ulong WritableBytes => Sum(writable: true);

    private ulong Sum(bool writable)
    {
        ulong total = 0;
        foreach (var b in Buffers) if (b.DeviceWritable == writable) total += b.Length;
        return total;
    }

    internal void Start(ushort head)
    {
        Head = head;
        Count = 0;
    }

    internal void Add(GuestBuffer buffer)
    {
        // Bounded by the walk: a chain is never longer than its descriptor table (32768 entries at most).
        if (Count == _buffers.Length) Array.Resize(ref _buffers, _buffers.Length * 2);
        _buffers[Count++] = buffer;
    }
}
