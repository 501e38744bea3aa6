using System.Threading.Tasks.Sources;

namespace HyperSharp.Machine.Virtio.Vsock;

/// <summary>
/// A reusable one-waiter wake-up for an async loop (a connection's host-socket reader waits on it between bursts):
/// <see cref="Set"/> before or after <see cref="WaitAsync"/> completes the wait once. Allocation-free, unlike a
/// SemaphoreSlim's task per wait.
/// </summary>
internal sealed class AsyncSignal : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private readonly object _lock = new();
    private bool _set, _waiting;

    public ValueTask WaitAsync()
    {
        lock (_lock)
        {
            if (_set) { _set = false; return ValueTask.CompletedTask; }
            _core.Reset();
            _waiting = true;
            return new ValueTask(this, _core.Version);
        }
    }

    public void Set()
    {
        lock (_lock)
        {
            if (!_waiting) { _set = true; return; }
            _waiting = false;
        }
        _core.SetResult(true);
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);
    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);
    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
