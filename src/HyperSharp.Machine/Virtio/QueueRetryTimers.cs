namespace HyperSharp.Machine.Virtio;

/// <summary>
/// Serves a device's queue again after a wait (a Storage QoS maximum holding a request back): one timer per queue, made on
/// first use, and a retry already due is not scheduled twice. The request that must wait stays in its ring, so the thread
/// that rang the doorbell — possibly a vCPU — never sleeps, and a save taken meanwhile finds it there.
/// </summary>
internal sealed class QueueRetryTimers(int queueCount, Func<IVirtioInterrupts?> interrupts) : IDisposable
{
    private readonly Timer?[] _timers = new Timer?[queueCount];
    private readonly int[] _pending = new int[queueCount];
    private readonly Func<IVirtioInterrupts?> _interrupts = interrupts;

    /// <summary>Asks the transport to serve queue <paramref name="index"/> again once <paramref name="wait"/> has passed.</summary>
    public void Schedule(int index, TimeSpan wait)
    {
        if (Interlocked.Exchange(ref _pending[index], 1) != 0) return;
        var timer = _timers[index] ??= new Timer(static state =>
        {
            var (retry, queue) = ((QueueRetryTimers, int))state!;
            Volatile.Write(ref retry._pending[queue], 0);
            retry._interrupts()?.ServeAgain(queue);
        }, (this, index), Timeout.Infinite, Timeout.Infinite);
        timer.Change(wait, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Asks the transport to serve each of the first <paramref name="queues"/> queues once more, now.</summary>
    public void ServeAll(int queues)
    {
        if (_interrupts() is not { } interrupts) return;
        for (int i = 0; i < queues; i++) interrupts.ServeAgain(i);
    }

    public void Dispose()
    {
        foreach (var timer in _timers) timer?.Dispose();
    }
}
