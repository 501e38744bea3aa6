using System.Buffers.Binary;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;
using static HyperSharp.Machine.Virtio.Balloon.VirtioBalloonConstants;

namespace HyperSharp.Machine.Virtio.Balloon;

/// <summary>
/// virtio-balloon (type 5, virtio 1.2 §5.5): the host sets a target, the guest's driver inflates towards it by handing
/// over page numbers (which the device gives back to the host at once: the worker's resident size falls) and deflates
/// by taking pages back (they fault in as zeros). It also carries the guest's memory statistics — the device holds the
/// driver's statistics buffer and returns it to ask for a fresh report — and free page reporting: free memory the guest
/// reports goes back to the host while the guest keeps owning it.
/// </summary>
/// <remarks>
/// Deflate on OOM (offered unless the configuration says otherwise) lets the guest take pages back under memory
/// pressure instead of invoking its OOM killer, as the issue asks; Linux then leaves MemTotal alone while inflated (the
/// pages count as used), where without it MemTotal shrinks with the balloon.
/// </remarks>
public sealed class VirtioBalloonDevice(string name, GuestRam ram, bool deflateOnOom = true, bool freePageReporting = true, Action<string>? log = null) : IVirtioDevice
{
    private const int InflateQueue = 0, DeflateQueue = 1;
    private readonly DescriptorChain[] _chains = [new(), new(), new(), new()];
    private readonly Lock _statsLock = new();
    private IReadOnlyList<SplitVirtqueue?> _queues = [];
    private IVirtioInterrupts? _interrupts;
    private int _statsQueue = -1, _reportingQueue = -1;
    private uint _targetPages, _actualPages;
    private long _inflatedPages, _reportedBytes;
    private int? _heldStatsHead;
    private BalloonStatistics? _statistics;
    private Action<ulong, ulong>? _giveBack;

    public string Name => name;
    public ushort DeviceType => VirtioBalloonConstants.DeviceType;
    public ulong DeviceFeatures => 1UL << 32 | 1UL << FeatureStatsQueue | (freePageReporting ? 1UL << FeaturePageReporting : 0) | (deflateOnOom ? 1UL << FeatureDeflateOnOom : 0);
    public int QueueCount => 4; // inflate, deflate, stats, reporting (queues of features not negotiated close the gap)
    public ushort MaxQueueSize => 128;
    public int ConfigSize => VirtioBalloonConstants.ConfigSize;

    /// <summary>Raised (on a device or processor thread) when the driver's balloon size or the guest's statistics change.</summary>
    public event Action? Changed;

    /// <summary>Bytes the host asked the guest to give up.</summary>
    public ulong TargetBytes => (ulong)Volatile.Read(ref _targetPages) << PageShift;

    /// <summary>Bytes the guest's driver says its balloon holds (it writes this after each inflate or deflate).</summary>
    public ulong ActualBytes => (ulong)Volatile.Read(ref _actualPages) << PageShift;

    /// <summary>Bytes the guest handed over through the balloon and has not taken back: host memory freed for the host.</summary>
    public ulong InflatedBytes => (ulong)Interlocked.Read(ref _inflatedPages) << PageShift;

    /// <summary>Bytes of free memory the guest reported since the device was built (each report's pages went back to the host).</summary>
    public ulong ReportedBytes => (ulong)Interlocked.Read(ref _reportedBytes);

    /// <summary>The guest's last statistics report, null before the first.</summary>
    public BalloonStatistics? Statistics => Volatile.Read(ref _statistics);

    /// <summary>Asks the guest to hold <paramref name="bytes"/> in its balloon (rounded down to 4 KiB pages); 0 deflates it fully.</summary>
    public void SetTarget(ulong bytes)
    {
        if (bytes >> PageShift > uint.MaxValue) throw new ArgumentOutOfRangeException(nameof(bytes), $"a balloon of {bytes} bytes: at most {(ulong)uint.MaxValue << PageShift} (2^32 pages)");
        Volatile.Write(ref _targetPages, (uint)(bytes >> PageShift));
        _interrupts?.ConfigChanged();
    }

    /// <summary>
    /// Asks the guest for a fresh statistics report by returning the buffer its driver left with us; the report arrives
    /// later (<see cref="Changed"/>). False when the driver has no buffer with us (no driver, or a request is under way).
    /// </summary>
    public bool RequestStatistics()
    {
        if (_statsQueue < 0) return false;
        ProcessQueue(_statsQueue); // a buffer the driver posted but we did not see yet
        lock (_statsLock)
        {
            var queue = QueueAt(_statsQueue);
            if (queue is null || _heldStatsHead is not { } head) return false;
            _heldStatsHead = null;
            queue.Push((ushort)head, 0);
            if (queue.ShouldInterrupt()) _interrupts?.QueueInterrupt(_statsQueue);
            return true;
        }
    }

    public void ReadConfig(int offset, Span<byte> data)
    {
        Span<byte> config = stackalloc byte[VirtioBalloonConstants.ConfigSize];
        BinaryPrimitives.WriteUInt32LittleEndian(config[ConfigNumPages..], Volatile.Read(ref _targetPages));
        BinaryPrimitives.WriteUInt32LittleEndian(config[ConfigActual..], Volatile.Read(ref _actualPages));
        data.Clear();
        if (offset >= 0 && offset < config.Length) config[offset..Math.Min(config.Length, offset + data.Length)].CopyTo(data);
    }

    /// <summary>The driver writes only <c>actual</c> (num_pages is the device's): whole or in part.</summary>
    public void WriteConfig(int offset, ReadOnlySpan<byte> data)
    {
        if (offset < ConfigActual || offset + data.Length > VirtioBalloonConstants.ConfigSize) return;
        Span<byte> actual = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(actual, Volatile.Read(ref _actualPages));
        data.CopyTo(actual[(offset - ConfigActual)..]);
        Volatile.Write(ref _actualPages, BinaryPrimitives.ReadUInt32LittleEndian(actual));
        Changed?.Invoke();
    }

    public void Activate(ulong features, IReadOnlyList<SplitVirtqueue?> queues, IVirtioInterrupts interrupts)
    {
        // Queues of features the driver did not take are left out and the later ones move up (virtio 1.2 §5.5.2).
        int next = 2;
        _statsQueue = (features & 1UL << FeatureStatsQueue) != 0 ? next++ : -1;
        _reportingQueue = (features & 1UL << FeaturePageReporting) != 0 ? next : -1;
        _queues = queues;
        _interrupts = interrupts;
    }

    public void ProcessQueue(int index)
    {
        if (index == InflateQueue || index == DeflateQueue) ServePageLists(index);
        else if (index == _statsQueue) ReceiveStatistics();
        else if (index == _reportingQueue) ServeReports();
    }

    private SplitVirtqueue? QueueAt(int index) => index >= 0 && index < _queues.Count ? _queues[index] : null;

    /// <summary>Inflate: each page listed goes back to the host now. Deflate: the guest takes pages back; nothing to do but count them.</summary>
    private void ServePageLists(int index)
    {
        var queue = QueueAt(index);
        if (queue is null) return;
        var chain = _chains[index];
        Span<uint> pages = stackalloc uint[256];
        bool completed = false;
        while (queue.TryPop(chain))
        {
            foreach (var buffer in chain.Buffers)
            {
                if (buffer.DeviceWritable) continue;
                for (uint done = 0; done + 4 <= buffer.Length;)
                {
                    int n = (int)Math.Min((uint)pages.Length, (buffer.Length - done) / 4);
                    var bytes = ram.GetSpan(buffer.Address + done, n * 4);
                    for (int i = 0; i < n; i++) pages[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(i * 4)..]);
                    if (index == InflateQueue) PageRuns.ForEach(pages[..n], _giveBack ??= GiveBack);
                    Interlocked.Add(ref _inflatedPages, index == InflateQueue ? n : -n);
                    done += (uint)n * 4;
                }
            }
            queue.Push(chain.Head, 0);
            completed = true;
        }
        if (completed && queue.ShouldInterrupt()) _interrupts?.QueueInterrupt(index);
    }

    private void GiveBack(ulong firstPage, ulong count)
    {
        try { ram.Discard(firstPage << PageShift, count << PageShift); }
        catch (HyperSharp.Hypervisor.GuestMemoryAccessException)
        {
            // The guest named pages that are not RAM: nothing of the host's to free there; the guest's mistake is its own.
            log?.Invoke($"{name}: the guest put pages 0x{firstPage:X}+{count} that are not RAM in the balloon");
        }
    }

    /// <summary>Reads the report in the driver's statistics buffer and keeps the buffer, to hand back when the host wants the next one.</summary>
    private void ReceiveStatistics()
    {
        lock (_statsLock)
        {
            var queue = QueueAt(_statsQueue);
            if (queue is null) return;
            var chain = _chains[2];
            while (queue.TryPop(chain))
            {
                if (_heldStatsHead is { } older) queue.Push((ushort)older, 0); // a driver posts one buffer at a time; a second one frees the first
                _heldStatsHead = chain.Head;
                Volatile.Write(ref _statistics, Parse(chain));
            }
        }
        Changed?.Invoke();
    }

    private BalloonStatistics Parse(DescriptorChain chain)
    {
        var s = new BalloonStatistics { ReceivedAt = DateTimeOffset.UtcNow };
        Span<byte> entry = stackalloc byte[StatEntrySize];
        foreach (var buffer in chain.Buffers)
        {
            if (buffer.DeviceWritable) continue;
            for (uint at = 0; at + StatEntrySize <= buffer.Length; at += StatEntrySize)
            {
                ram.Read(buffer.Address + at, entry);
                ulong value = BinaryPrimitives.ReadUInt64LittleEndian(entry[2..]);
                s = BinaryPrimitives.ReadUInt16LittleEndian(entry) switch
                {
                    StatSwapIn => s with { SwapIn = value },
                    StatSwapOut => s with { SwapOut = value },
                    StatMajorFaults => s with { MajorFaults = value },
                    StatMinorFaults => s with { MinorFaults = value },
                    StatFree => s with { FreeBytes = value },
                    StatTotal => s with { TotalBytes = value },
                    StatAvailable => s with { AvailableBytes = value },
                    StatCaches => s with { CachesBytes = value },
                    _ => s, // tags this build does not know (hugetlb counters...) are skipped, as the spec allows
                };
            }
        }
        return s;
    }

    /// <summary>Free page reporting: each buffer is a range of free guest memory; it goes back to the host and stays the guest's.</summary>
    private void ServeReports()
    {
        var queue = QueueAt(_reportingQueue);
        if (queue is null) return;
        var chain = _chains[3];
        bool completed = false;
        while (queue.TryPop(chain))
        {
            foreach (var buffer in chain.Buffers)
            {
                ulong start = (buffer.Address + PageSize - 1) & ~(PageSize - 1), end = (buffer.Address + buffer.Length) & ~(PageSize - 1);
                if (end <= start) continue;
                try
                {
                    ram.Discard(start, end - start);
                    Interlocked.Add(ref _reportedBytes, (long)(end - start));
                }
                catch (HyperSharp.Hypervisor.GuestMemoryAccessException) { log?.Invoke($"{name}: the guest reported free memory at 0x{start:X} that is not RAM"); }
            }
            queue.Push(chain.Head, 0);
            completed = true;
        }
        if (completed && queue.ShouldInterrupt()) _interrupts?.QueueInterrupt(_reportingQueue);
    }

    /// <summary>The driver reset the device: it returns to its initial state, except the host's target, which stands.</summary>
    public void Reset()
    {
        lock (_statsLock)
        {
            _queues = [];
            _interrupts = null;
            _heldStatsHead = null;
            (_statsQueue, _reportingQueue) = (-1, -1);
        }
        Volatile.Write(ref _actualPages, 0);
        Interlocked.Exchange(ref _inflatedPages, 0); // a reset driver owns all its memory again
    }

    public VirtioBalloonState SaveState()
    {
        lock (_statsLock)
            return new VirtioBalloonState(_targetPages, _actualPages, (ulong)Interlocked.Read(ref _inflatedPages), ReportedBytes, _heldStatsHead);
    }

    /// <summary>Applies saved state after the transport re-activated the queues (its record is restored first).</summary>
    public void RestoreState(VirtioBalloonState state)
    {
        lock (_statsLock)
        {
            (_targetPages, _actualPages, _heldStatsHead) = (state.TargetPages, state.ActualPages, state.HeldStatsHead);
            if (_heldStatsHead is { } head && (QueueAt(_statsQueue) is not { } q || head >= q.Size))
                throw new InvalidDataException($"{name}: the saved statistics buffer {head} is not a descriptor of the statistics queue");
        }
        Interlocked.Exchange(ref _inflatedPages, (long)state.InflatedPages);
        Interlocked.Exchange(ref _reportedBytes, (long)state.ReportedBytes);
    }
}
