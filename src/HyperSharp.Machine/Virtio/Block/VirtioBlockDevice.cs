using System.Buffers.Binary;
using System.Diagnostics;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Storage;
using HyperSharp.Machine.Virtio.Queue;
using HyperSharp.Vhdx;

namespace HyperSharp.Machine.Virtio.Block;

/// <summary>
/// virtio-blk backed by an <see cref="IVirtualDisk"/> (VHDX, VHD or raw): several request queues,
/// flush, discard and write-zeroes, read-only disks, and a configuration-change interrupt when the
/// image is resized (online resize). Each queue is served by whichever thread notifies it; the
/// disk itself takes concurrent requests from all queues. Under a Storage QoS maximum a request
/// that must wait stays in its ring and the queue is served again once it may run (a timer asks
/// the transport), so the thread that rang the doorbell — possibly a vCPU — never sleeps.
/// </summary>
public sealed class VirtioBlockDevice : IVirtioDevice, IDisposable
{
    private readonly IVirtualDisk _disk;
    private readonly VirtioBlockRequestHandler _handler;
    private readonly DescriptorChain[] _chains;
    private IReadOnlyList<SplitVirtqueue?> _queues = [];
    private IVirtioInterrupts? _interrupts;
    private readonly QueueRetryTimers _retry;

    public VirtioBlockDevice(string name, IVirtualDisk disk, GuestRam ram, int queueCount = 2, string? serial = null)
    {
        if (queueCount is < 1 or > 64) throw new ArgumentOutOfRangeException(nameof(queueCount), $"{queueCount} queues: 1 to 64 are allowed");
        Name = name;
        _disk = disk;
        QueueCount = queueCount;
        _chains = Enumerable.Range(0, queueCount).Select(_ => new DescriptorChain()).ToArray();
        _handler = new VirtioBlockRequestHandler(ram, disk, serial ?? name);
        _retry = new QueueRetryTimers(queueCount, () => _interrupts);
        _disk.CapacityChanged += OnCapacityChanged;
    }

    public string Name { get; }

    /// <summary>The disk's Storage QoS (normalized IOPS); no limits until set.</summary>
    public StorageQos Qos { get; } = new();

    public ushort DeviceType => 2;
    public int QueueCount { get; }
    public ushort MaxQueueSize => 256;
    public int ConfigSize => VirtioBlk.ConfigSize;

    public ulong DeviceFeatures =>
        1UL << 32 /* VERSION_1 */ | 1UL << 28 /* INDIRECT_DESC; EVENT_IDX waits until avail_event is maintained */
        | 1UL << VirtioBlk.FeatureSegMax | 1UL << VirtioBlk.FeatureBlockSize | 1UL << VirtioBlk.FeatureFlush
        | 1UL << VirtioBlk.FeatureTopology | (QueueCount > 1 ? 1UL << VirtioBlk.FeatureMultiQueue : 0)
        | (_disk.IsReadOnly ? 1UL << VirtioBlk.FeatureReadOnly : 1UL << VirtioBlk.FeatureDiscard | 1UL << VirtioBlk.FeatureWriteZeroes);

    /// <summary>The configuration layout of virtio 1.x 5.2.4 (struct virtio_blk_config), built on each read (on the stack) so capacity is current.</summary>
    public void ReadConfig(int offset, Span<byte> data)
    {
        Span<byte> s = stackalloc byte[VirtioBlk.ConfigSize];
        s.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(s, (ulong)(_disk.Capacity / VirtioBlk.SectorSize));
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], 128);                         // seg_max
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], (uint)_disk.LogicalSectorSize); // blk_size
        s[24] = (byte)Math.Log2(Math.Max(1, _disk.PhysicalSectorSize / _disk.LogicalSectorSize)); // physical_block_exp
        BinaryPrimitives.WriteUInt16LittleEndian(s[26..], 1);                            // min_io_size (in blocks)
        BinaryPrimitives.WriteUInt16LittleEndian(s[34..], (ushort)QueueCount);           // num_queues
        BinaryPrimitives.WriteUInt32LittleEndian(s[36..], uint.MaxValue / VirtioBlk.SectorSize); // max_discard_sectors
        BinaryPrimitives.WriteUInt32LittleEndian(s[40..], 1);                            // max_discard_seg
        BinaryPrimitives.WriteUInt32LittleEndian(s[44..], 8);                            // discard_sector_alignment
        BinaryPrimitives.WriteUInt32LittleEndian(s[48..], uint.MaxValue / VirtioBlk.SectorSize); // max_write_zeroes_sectors
        BinaryPrimitives.WriteUInt32LittleEndian(s[52..], 1);                            // max_write_zeroes_seg
        s[56] = 1;                                                                       // write_zeroes_may_unmap
        data.Clear();
        if (offset >= 0 && offset < s.Length) s.Slice(offset, Math.Min(data.Length, s.Length - offset)).CopyTo(data);
    }

    public void WriteConfig(int offset, ReadOnlySpan<byte> data) { } // writeback toggling (CONFIG_WCE) is not offered

    public void Activate(ulong features, IReadOnlyList<SplitVirtqueue?> queues, IVirtioInterrupts interrupts)
    {
        _queues = queues;
        _interrupts = interrupts;
    }

    /// <summary>Serves a queue; the transport calls it for one queue from one thread at a time, different queues in parallel.</summary>
    public void ProcessQueue(int index)
    {
        var queue = index < _queues.Count ? _queues[index] : null;
        if (queue is null) return;
        bool completed = false;
        var chain = _chains[index];
        while (true)
        {
            if (!Qos.MayStart(out var wait)) { _retry.Schedule(index, wait); break; }
            if (!queue.TryPop(chain)) break;
            long started = Stopwatch.GetTimestamp();
            queue.Push(chain.Head, _handler.Execute(chain));
            Qos.Charge(DataBytes(chain), Stopwatch.GetTimestamp() - started);
            completed = true;
        }
        if (completed && queue.ShouldInterrupt()) _interrupts?.QueueInterrupt(index);
    }

    /// <summary>
    /// Serves every queue once more: what a guest posted while the limits made it wait — or before a restore, whose new
    /// device never saw the doorbell — runs now (and waits again if it must).
    /// </summary>
    public void ServeAll() => _retry.ServeAll(_queues.Count);

    /// <summary>What the request moves, without its 16-byte header and status byte: what Storage QoS counts.</summary>
    private static ulong DataBytes(DescriptorChain chain)
    {
        ulong total = chain.ReadableBytes + chain.WritableBytes;
        return total > VirtioBlk.HeaderSize + 1 ? total - VirtioBlk.HeaderSize - 1 : 0;
    }

    public void Reset()
    {
        _queues = [];
        _interrupts = null;
    }

    private void OnCapacityChanged(IVirtualDisk disk) => _interrupts?.ConfigChanged();

    public void Dispose()
    {
        _disk.CapacityChanged -= OnCapacityChanged;
        _retry.Dispose();
    }
}
