using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace HyperSharp.Vhdx.Operations;

/// <summary>
/// Copies the resolved view of a stack of layers into a target disk, skipping what holds no data.
/// The calling thread resolves extents into chunks; several workers read chunks in parallel (the
/// same idea as qemu-img convert's parallel requests) and then take turns writing them in offset
/// order. Reads overlap each other and the write in progress, while a dynamic target still
/// allocates its blocks in virtual order, so the result is laid out sequentially.
/// </summary>
internal sealed class ExtentCopier
{
    /// <summary>4 MiB: big enough that per-call costs vanish, and a divisor of every VHDX/VHD block size ≥ 4 MiB.</summary>
    public const int DefaultBufferSize = 4 << 20;

    /// <summary>Zero runs shorter than this inside a data buffer are written rather than skipped.</summary>
    private const int ZeroGranule = 64 << 10;

    private readonly IReadOnlyList<IVirtualDisk> _layers;
    private readonly IVirtualDisk _target;
    private readonly bool _targetIsFresh;
    private readonly int _bufferSize;
    private readonly int _workers;
    private readonly IProgress<long>? _progress;
    private readonly object _turnLock = new();
    private long _nextToWrite;
    private long _done;

    /// <param name="layers">The source, top layer first; runs that fall below the last layer are left alone in the target.</param>
    /// <param name="target">Where the view is written, at the same offsets.</param>
    /// <param name="targetIsFresh">
    /// True for a newly created target that reads as zeros everywhere: zero runs are skipped.
    /// False for an existing target (merge): zero runs are unmapped there, since the view reads zeros.
    /// </param>
    public ExtentCopier(IReadOnlyList<IVirtualDisk> layers, IVirtualDisk target, bool targetIsFresh,
        IProgress<long>? progress, int bufferSize = DefaultBufferSize, int workers = 0)
    {
        if (bufferSize < ZeroGranule || bufferSize % ZeroGranule != 0)
            throw new ArgumentOutOfRangeException(nameof(bufferSize), $"the buffer size must be a multiple of {ZeroGranule} bytes");
        _layers = layers;
        _target = target;
        _targetIsFresh = targetIsFresh;
        _progress = progress;
        _bufferSize = bufferSize;
        // One more worker than cores: while one writes, the others keep every core reading.
        _workers = workers > 0 ? workers : Math.Clamp(Environment.ProcessorCount + 1, 3, 8);
    }

    /// <summary>Copies bytes [0, <paramref name="length"/>) of the view. Does not flush the target.</summary>
    public void Copy(long length, CancellationToken cancel = default)
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        using var chunks = new BlockingCollection<Chunk>(_workers * 2);
        using var wake = failed.Token.Register(() => { lock (_turnLock) Monitor.PulseAll(_turnLock); });
        Exception? error = null;
        var threads = new Thread[_workers];
        for (int i = 0; i < threads.Length; i++)
        {
            threads[i] = new Thread(() =>
            {
                try { Work(chunks, failed.Token); }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref error, e, null);
                    failed.Cancel();
                }
            }) { IsBackground = true, Name = "disk copy" };
            threads[i].Start();
        }
        try
        {
            Produce(length, chunks, failed.Token);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref error, e, null);
            failed.Cancel();
        }
        finally
        {
            chunks.CompleteAdding();
            foreach (var t in threads) t.Join();
        }
        // The first failure is kept: it cancels the others, whose cancellations are not the news.
        if (error is not null) ExceptionDispatchInfo.Throw(error);
    }

    /// <summary>Resolves the view into chunks of at most one buffer, numbered in offset order; skips what needs no work.</summary>
    private void Produce(long length, BlockingCollection<Chunk> chunks, CancellationToken token)
    {
        var resolver = new LayerResolver(_layers);
        long offset = 0, sequence = 0;
        while (offset < length)
        {
            token.ThrowIfCancellationRequested();
            // Chunks end on buffer-size boundaries so writes line up with the target's blocks.
            long max = Math.Min(length - offset, _bufferSize - offset % _bufferSize);
            var run = resolver.Resolve(offset, max);
            int n = (int)run.Length;
            bool skip = run.State == ResolvedState.Below || (run.State == ResolvedState.Zero && _targetIsFresh);
            if (skip) Done(n);
            else chunks.Add(new Chunk(sequence++, offset, n, run.State, run.Layer), token);
            offset += n;
        }
    }

    private void Work(BlockingCollection<Chunk> chunks, CancellationToken token)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(_bufferSize, pinned: true);
        while (chunks.TryTake(out var chunk, Timeout.Infinite, token))
        {
            bool hasData = false;
            if (chunk.State == ResolvedState.Data)
            {
                _layers[chunk.Layer].Read(chunk.Offset, buffer.AsSpan(0, chunk.Length));
                hasData = !ZeroScan.IsZero(buffer.AsSpan(0, chunk.Length));
            }
            WaitTurn(chunk.Sequence, token);
            try
            {
                if (hasData) Write(chunk.Offset, buffer.AsSpan(0, chunk.Length));
                else if (!_targetIsFresh) _target.Unmap(chunk.Offset, chunk.Length);
            }
            finally { EndTurn(); }
            Done(chunk.Length);
        }
    }

    private void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (!_targetIsFresh) { _target.Write(offset, data); return; }
        // A fresh target already reads zeros: write only the pieces that hold data, so a dynamic
        // target does not allocate for them and a raw target stays sparse.
        int pos = 0;
        while (true)
        {
            var (start, count) = ZeroScan.NextDataRun(data, pos, ZeroGranule);
            if (start < 0) return;
            _target.Write(offset + start, data.Slice(start, count));
            pos = start + count;
        }
    }

    private void WaitTurn(long sequence, CancellationToken token)
    {
        lock (_turnLock)
        {
            while (_nextToWrite != sequence)
            {
                token.ThrowIfCancellationRequested();
                Monitor.Wait(_turnLock);
            }
        }
    }

    private void EndTurn()
    {
        lock (_turnLock)
        {
            _nextToWrite++;
            Monitor.PulseAll(_turnLock);
        }
    }

    private void Done(long bytes)
    {
        long total = Interlocked.Add(ref _done, bytes);
        _progress?.Report(total);
    }

    /// <summary>One piece of work: the chunk's place in write order, its range, and where its data is.</summary>
    private readonly record struct Chunk(long Sequence, long Offset, int Length, ResolvedState State, int Layer);
}
