using System.Security.Cryptography;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;

namespace HyperSharp.Machine.Virtio.Rng;

/// <summary>
/// virtio-rng (entropy device, type 4): one queue of device-writable buffers that the device fills
/// from the host's cryptographic random generator. A request is capped so a guest cannot make the
/// host produce unbounded entropy in one go.
/// </summary>
public sealed class VirtioRngDevice(string name, GuestRam ram) : IVirtioDevice
{
    private const uint MaxBytesPerRequest = 64 * 1024;
    private readonly DescriptorChain _chain = new();
    private IReadOnlyList<SplitVirtqueue?> _queues = [];
    private IVirtioInterrupts? _interrupts;

    public string Name => name;
    public ushort DeviceType => 4;
    public ulong DeviceFeatures => 1UL << 32 | 1UL << 28; // VERSION_1, INDIRECT_DESC
    public int QueueCount => 1;
    public ushort MaxQueueSize => 64;
    public int ConfigSize => 0;

    public void ReadConfig(int offset, Span<byte> data) => data.Clear();

    public void WriteConfig(int offset, ReadOnlySpan<byte> data) { }

    public void Activate(ulong features, IReadOnlyList<SplitVirtqueue?> queues, IVirtioInterrupts interrupts)
    {
        _queues = queues;
        _interrupts = interrupts;
    }

    public void ProcessQueue(int index)
    {
        var queue = index == 0 && _queues.Count > 0 ? _queues[0] : null;
        if (queue is null) return;
        // The transport serves a queue from one thread at a time: no lock of our own.
        bool completed = false;
        while (queue.TryPop(_chain))
        {
            uint written = 0;
            foreach (var buffer in _chain.Buffers)
            {
                if (!buffer.DeviceWritable || written >= MaxBytesPerRequest) continue;
                uint n = Math.Min(buffer.Length, MaxBytesPerRequest - written);
                RandomNumberGenerator.Fill(ram.GetSpan(buffer.Address, (int)n));
                ram.NotifyWritten(buffer.Address, n);
                written += n;
            }
            queue.Push(_chain.Head, written);
            completed = true;
        }
        if (completed && queue.ShouldInterrupt()) _interrupts?.QueueInterrupt(0);
    }

    public void Reset()
    {
        _queues = [];
        _interrupts = null;
    }
}
