using System.Collections.Concurrent;

namespace HyperSharp.Vhdx.Operations;

/// <summary>
/// Copies the resolved view of a stack of layers into a target disk, skipping what holds no
/// data. The calling thread resolves and reads; a writer thread writes, fed through a small
/// bounded queue, so reading the next buffer overlaps writing the previous one (the same idea as
/// qemu-img convert's parallel requests, with two threads instead of coroutines).
/// </summary>
internal sealed class ExtentCopier
{
    /// <summary>4 MiB: big enough that per-call costs vanish, and a divisor of every VHDX/VHD block size ≥ 4 MiB.</summary>
    public const int DefaultBufferSize = 4 << 20;

    /// <summary>Zero runs shorter than this inside a data buffer are written rather than skipped.</summary>
    private const int ZeroGranule = 64 << 10;

    private const int QueueDepth = 3;

    private readonly IReadOnlyList<IVirtualDisk> _layers;
    private readonly IVirtualDisk _target;
    private readonly bool _targetIsFresh;
    private readonly int _bufferSize;
    private readonly IProgress<long>? _progress;
    private long _done;

    /// <param name="layers">The source, top layer first; runs that fall below the last layer are left alone in the target.</param>
    /// <param name="target">Where the view is written, at the same offsets.</param>
    /// <param name="targetIsFresh">
    /// True for a newly created target that reads as zeros everywhere: zero runs are skipped.
    /// False for an existing target (merge): zero runs are unmapped there, since the view reads zeros.
    /// </param>
    public ExtentCopier(IReadOnlyList<IVirtualDisk> layers, IVirtualDisk target, bool targetIsFresh,
        IProgress<long>? progress, int bufferSize = DefaultBufferSize)
    {
        if (bufferSize < ZeroGranule || bufferSize % ZeroGranule != 0)
            throw new ArgumentOutOfRangeException(nameof(bufferSize), $"the buffer size must be a multiple of {ZeroGranule} bytes");
        _layers = layers;
        _target = target;
        _targetIsFresh = targetIsFresh;
        _progress = progress;
        _bufferSize = bufferSize;
    }

    /// <summary>Copies bytes [0, <paramref name="length"/>) of the view. Does not flush the target.</summary>
    public void Copy(long length, CancellationToken cancel = default)
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        using var queue = new BlockingCollection<WorkItem>(QueueDepth);
        using var free = new BlockingCollection<byte[]>();
        for (int i = 0; i < QueueDepth + 2; i++) free.Add(GC.AllocateUninitializedArray<byte>(_bufferSize, pinned: true));
        Exception? writerError = null;
        var writer = new Thread(() =>
        {
            try
            {
                foreach (var item in queue.GetConsumingEnumerable()) { Apply(item); if (item.Buffer is not null) free.Add(item.Buffer); }
            }
            catch (Exception e) { writerError = e; failed.Cancel(); }
        }) { IsBackground = true, Name = "disk copy writer" };
        writer.Start();
        try
        {
            Produce(length, queue, free, failed.Token);
        }
        catch (OperationCanceledException) when (writerError is not null) { }
        finally
        {
            queue.CompleteAdding();
            writer.Join();
        }
        if (writerError is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(writerError);
    }

    private void Produce(long length, BlockingCollection<WorkItem> queue, BlockingCollection<byte[]> free, CancellationToken token)
    {
        var resolver = new LayerResolver(_layers);
        long offset = 0;
        while (offset < length)
        {
            token.ThrowIfCancellationRequested();
            // Chunks end on buffer-size boundaries so writes line up with the target's blocks.
            long max = Math.Min(length - offset, _bufferSize - offset % _bufferSize);
            var run = resolver.Resolve(offset, max);
            int n = (int)run.Length;
            switch (run.State)
            {
                case ResolvedState.Below:
                    Done(n);
                    break;
                case ResolvedState.Zero:
                    if (_targetIsFresh) Done(n);
                    else queue.Add(new WorkItem(offset, null, n), token);
                    break;
                case ResolvedState.Data:
                    var buffer = free.Take(token);
                    _layers[run.Layer].Read(offset, buffer.AsSpan(0, n));
                    if (ZeroScan.IsZero(buffer.AsSpan(0, n)))
                    {
                        free.Add(buffer);
                        if (_targetIsFresh) Done(n);
                        else queue.Add(new WorkItem(offset, null, n), token);
                    }
                    else queue.Add(new WorkItem(offset, buffer, n), token);
                    break;
            }
            offset += n;
        }
    }

    private void Apply(WorkItem item)
    {
        if (item.Buffer is null)
        {
            _target.Unmap(item.Offset, item.Length);
        }
        else if (!_targetIsFresh)
        {
            _target.Write(item.Offset, item.Buffer.AsSpan(0, item.Length));
        }
        else
        {
            // A fresh target already reads zeros: write only the pieces that hold data, so a
            // dynamic target does not allocate for them and a raw target stays sparse.
            var data = item.Buffer.AsSpan(0, item.Length);
            int pos = 0;
            while (true)
            {
                var (start, count) = ZeroScan.NextDataRun(data, pos, ZeroGranule);
                if (start < 0) break;
                _target.Write(item.Offset + start, data.Slice(start, count));
                pos = start + count;
            }
        }
        Done(item.Length);
    }

    private void Done(long bytes)
    {
        long total = Interlocked.Add(ref _done, bytes);
        _progress?.Report(total);
    }

    /// <summary>One write (with a buffer) or unmap (without) handed to the writer thread.</summary>
    private readonly record struct WorkItem(long Offset, byte[]? Buffer, int Length);
}
