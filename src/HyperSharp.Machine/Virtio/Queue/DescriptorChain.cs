namespace HyperSharp.Machine.Virtio.Queue;

/// <summary>One buffer of a request: guest physical address, length, and whether the device may write it.</summary>
public readonly record struct GuestBuffer(ulong Address, uint Length, bool DeviceWritable);

/// <summary>
/// A request popped from the available ring: its head index (to return in the used ring) and its
/// buffers in order, device-readable ones first as the virtio spec requires.
/// </summary>
public sealed class DescriptorChain(ushort head, List<GuestBuffer> buffers)
{
    public ushort Head { get; } = head;

    public IReadOnlyList<GuestBuffer> Buffers => buffers;

    public ulong ReadableBytes => (ulong)buffers.Where(b => !b.DeviceWritable).Sum(b => (long)b.Length);

    public ulong WritableBytes => (ulong)buffers.Where(b => b.DeviceWritable).Sum(b => (long)b.Length);
}
