using System.Buffers.Binary;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;
using HyperSharp.Vhdx;

namespace HyperSharp.Machine.Virtio.Block;

/// <summary>
/// virtio-blk backed by an <see cref="IVirtualDisk"/> (VHDX, VHD or raw): several request queues,
/// flush, discard and write-zeroes, read-only disks, and a configuration-change interrupt when the
/// image is resized (online resize). Each queue is served by whichever thread notifies it; the
/// disk itself takes concurrent requests from all queues.
/// </summary>
public sealed class VirtioBlockDevice : IVirtioDevice, IDisposable
{
    private readonly IVirtualDisk _disk;
    private readonly VirtioBlockRequestHandler _handler;
    private readonly DescriptorChain[] _chains;
    private IReadOnlyList<SplitVirtqueue?> _queues = [];
    private IVirtioInterrupts? _interrupts;

    public VirtioBlockDevice(string name, IVirtualDisk disk, GuestRam ram, int queueCount = 2, string? serial = null)
    {
        if (queueCount is < 1 or > 64) throw new ArgumentOutOfRangeException(nameof(queueCount), $"{queueCount} queues: 1 to 64 are allowed");
        Name = name;
        _disk = disk;
        QueueCount = queueCount;
        _chains = Enumerable.Range(0, queueCount).Select(_ => new DescriptorChain()).ToArray();
        _handler = new VirtioBlockRequestHandler(ram, disk, serial ?? name);
        _disk.CapacityChanged += OnCapacityChanged;
    }

    public string Name { get; }
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
        while (queue.TryPop(chain))
        {
            queue.Push(chain.Head, _handler.Execute(chain));
            completed = true;
        }
        if (completed && queue.ShouldInterrupt()) _interrupts?.QueueInterrupt(index);
    }

    public void Reset()
    {
        _queues = [];
        _interrupts = null;
    }

    private void OnCapacityChanged(IVirtualDisk disk) => _interrupts?.ConfigChanged();

    public void Dispose() => _disk.CapacityChanged -= OnCapacityChanged;
}
