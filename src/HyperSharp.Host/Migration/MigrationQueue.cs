namespace HyperSharp.Host.Migration;

/// <summary>
/// Set-VMHost -MaximumVirtualMachineMigrations: at most <paramref name="limit"/> moves run at once, the rest wait their turn in
/// the order they came. The limit is read each time a turn is given, so a change applies to the moves that start next.
/// </summary>
public sealed class MigrationQueue(Func<int> limit)
{
    private readonly object _lock = new();
    private readonly LinkedList<TaskCompletionSource> _waiting = new();
    private int _running;

    /// <summary>Moves running and waiting now.</summary>
    public (int Running, int Waiting) Count { get { lock (_lock) return (_running, _waiting.Count); } }

    /// <summary>Waits for a turn; disposing the result ends it and lets the next one in.</summary>
    public async Task<IDisposable> EnterAsync(CancellationToken cancel)
    {
        LinkedListNode<TaskCompletionSource> node;
        lock (_lock)
        {
            if (_running < limit() && _waiting.Count == 0)
            {
                _running++;
                return new Turn(this);
            }
            node = _waiting.AddLast(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }
        try { await node.Value.Task.WaitAsync(cancel).ConfigureAwait(false); }
        catch (OperationCanceledException)
        {
            bool given;
            lock (_lock)
            {
                given = node.List is null;
                if (!given) _waiting.Remove(node);
            }
            if (given) Leave(); // the turn came as the wait was cancelled: pass it on
            throw;
        }
        return new Turn(this);
    }

    private void Leave()
    {
        lock (_lock)
        {
            _running--;
            while (_waiting.First is { } next && _running < limit())
            {
                _waiting.RemoveFirst();
                _running++;
                next.Value.TrySetResult();
            }
        }
    }

    private sealed class Turn(MigrationQueue queue) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) queue.Leave();
        }
    }
}
