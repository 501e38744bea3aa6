namespace HyperSharp.Machine.Migration;

/// <summary>
/// Auto-converge: slows a VM by parking its processors for a share of every 20 ms while pre-copy runs, so a guest that
/// dirties memory faster than the link carries it lets the rounds shrink. Starts at 20%, each step adds 10%, at most 99%.
/// Disposing ends the throttle with the VM running.
/// </summary>
internal sealed class VcpuThrottle(VirtualMachine vm, Action<string> log) : IDisposable
{
    private const int PeriodMs = 20;
    private readonly ManualResetEventSlim _stop = new(false); // set once, never reset: a disposed throttle stays stopped
    private Thread? _thread;
    private volatile int _percent;

    /// <summary>The share of time the processors are parked (0: not throttled).</summary>
    public int Percent => _percent;

    public void Increase()
    {
        if (_stop.IsSet) return;
        _percent = _percent == 0 ? 20 : Math.Min(99, _percent + 10);
        if (_thread is not null) return;
        _thread = new Thread(Loop) { Name = "migration throttle", IsBackground = true };
        _thread.Start();
    }

    private void Loop()
    {
        try
        {
            while (!_stop.IsSet)
            {
                int percent = _percent;
                vm.Pause();
                try { _stop.Wait(PeriodMs * percent / 100); }
                finally { vm.Resume(); }
                _stop.Wait(PeriodMs * (100 - percent) / 100);
            }
        }
        catch (TimeoutException e) { log($"migration: the processors could not be throttled ({e.Message}); pre-copy goes on without"); }
    }

    public void Dispose()
    {
        _stop.Set();
        _thread?.Join();
        _thread = null;
    }
}
