using HyperSharp.Machine.Virtio.Queue;

namespace HyperSharp.Machine.Virtio;

/// <summary>
/// A virtio device as the transport sees it (virtio 1.x): its type, features, configuration
/// space and queues. The transport does feature negotiation, queue setup, status and interrupts;
/// the device only serves queues. One folder per device type (Block/, later Net/, Rng/).
/// </summary>
public interface IVirtioDevice
{
    string Name { get; }

    /// <summary>Virtio device ID (1 net, 2 block, 4 entropy, 19 vsock...).</summary>
    ushort DeviceType { get; }

    /// <summary>Features offered, including VIRTIO_F_VERSION_1 (bit 32).</summary>
    ulong DeviceFeatures { get; }

    int QueueCount { get; }

    ushort MaxQueueSize { get; }

    int ConfigSize { get; }

    void ReadConfig(int offset, Span<byte> data);

    void WriteConfig(int offset, ReadOnlySpan<byte> data);

    /// <summary>The driver set DRIVER_OK: the queues and negotiated features are live.</summary>
    void Activate(ulong features, IReadOnlyList<SplitVirtqueue?> queues, IVirtioInterrupts interrupts);

    /// <summary>
    /// The guest notified a queue: serve what it posted. The transport calls it for a queue from one thread at a
    /// time (its per-queue gate), different queues possibly at once: per-queue state needs no lock of the device's.
    /// </summary>
    void ProcessQueue(int index);

    /// <summary>The driver reset the device (status 0): drop queues and return to the initial state.</summary>
    void Reset();
}

/// <summary>How a device tells its driver that a queue advanced or its configuration changed.</summary>
public interface IVirtioInterrupts
{
    void QueueInterrupt(int queue);

    void ConfigChanged();

    /// <summary>
    /// Serve <paramref name="queue"/> again soon, on another thread, as if the driver had notified it: for a device that
    /// left requests in the ring on purpose (a Storage QoS limit) and must come back to them without a new doorbell.
    /// </summary>
    void ServeAgain(int queue) => throw new NotSupportedException($"this transport cannot serve queue {queue} again on its own");
}

/// <summary>Delivers a message-signalled interrupt (the machine routes it to the partition).</summary>
public interface IMsiSink
{
    void Signal(ulong address, uint data);
}
