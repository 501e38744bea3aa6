using System.Collections.Concurrent;
using HyperSharp.Host.Service;

namespace HyperSharp.Web.Usage;

/// <summary>
/// The CPU and memory charts' data, kept in the host process while the console runs: every <see cref="Interval"/> each
/// running VM's worker is looked at (its CPU time from /proc, its assigned memory from the worker), and the last hour of
/// looks is kept per VM in a fixed-size <see cref="UsageHistory"/>, with the sums over all VMs for the host page. The
/// looks are this sampler's own (the VM list's CPU column keeps its own baseline), so neither skews the other.
/// </summary>
internal sealed class UsageSampler : IAsyncDisposable
{
    public static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private readonly HostCalls _host;
    private readonly Action<string> _log;
    private readonly ConcurrentDictionary<Guid, Tracked> _vms = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    /// <summary>A VM's history and the CPU time of its worker at the last look (per worker PID: a restart starts over).</summary>
    private sealed class Tracked(int capacity)
    {
        public UsageHistory History { get; } = new(capacity);
        public (int Pid, long Ticks, TimeSpan Cpu)? Last { get; set; }
    }

    public UsageSampler(HostCalls host, TimeSpan interval, Action<string> log)
    {
        _log = log;
        if (interval <= TimeSpan.Zero || interval > Window) throw new ArgumentOutOfRangeException(nameof(interval), interval, "the usage interval is more than zero and at most an hour");
        _host = host;
        Interval = interval;
        Capacity = (int)Math.Ceiling(Window / interval);
        Host = new UsageHistory(Capacity);
        _loop = Task.Run(LoopAsync);
    }

    public TimeSpan Interval { get; }

    /// <summary>Samples kept per VM: an hour of them.</summary>
    public int Capacity { get; }

    /// <summary>All VMs together: the sum of their CPU % and of their assigned memory at each look.</summary>
    public UsageHistory Host { get; }

    /// <summary>The VM's history, or null when it has not run while the console did.</summary>
    public UsageHistory? Of(Guid vm) => _vms.TryGetValue(vm, out var tracked) ? tracked.History : null;

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            do
            {
                // A look that fails (a VM removed mid-look, say) costs one sample, not the charts for the rest of the run.
                try { await SampleAsync(_stop.Token).ConfigureAwait(false); }
                catch (Exception e) when (e is not OperationCanceledException) { _log($"usage charts: a look at the VMs failed: {e.Message}"); }
            }
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException) { }
    }

    private async Task SampleAsync(CancellationToken cancel)
    {
        var running = _host.RunningVms();
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var samples = await Task.WhenAll(running.Select(async vm =>
        {
            var tracked = _vms.GetOrAdd(vm.Id, _ => new Tracked(Capacity));
            float cpu = CpuPercent(tracked, vm);
            long? memory = await HostCalls.MemoryAssignedAsync(vm, cancel).ConfigureAwait(false);
            var sample = new UsageSample(now, cpu, memory is { } bytes ? (int)(bytes >> 20) : -1);
            tracked.History.Add(sample);
            return sample;
        })).ConfigureAwait(false);
        Host.Add(new UsageSample(now, samples.Where(s => !float.IsNaN(s.CpuPercent)).Sum(s => s.CpuPercent), samples.Where(s => s.MemoryMb > 0).Sum(s => s.MemoryMb)));
        // A VM gone from the host takes its history with it; one that is off keeps it (its chart shows when it ran).
        var listed = _host.Manager.List(null).Select(vm => vm.Id).ToHashSet();
        foreach (var id in _vms.Keys)
            if (!listed.Contains(id)) _vms.TryRemove(id, out _);
    }

    /// <summary>Percent of the host's logical processors the worker used since the last look; NaN at a worker's first look.</summary>
    private static float CpuPercent(Tracked tracked, ManagedVm vm)
    {
        int pid = vm.WorkerPid;
        if (HostCalls.WorkerCpuTime(vm) is not TimeSpan cpu) return float.NaN;
        long ticks = Environment.TickCount64;
        var last = tracked.Last;
        tracked.Last = (pid, ticks, cpu);
        if (last is not { } l || l.Pid != pid || ticks <= l.Ticks) return float.NaN;
        double percent = (cpu - l.Cpu).TotalMilliseconds / (ticks - l.Ticks) / Environment.ProcessorCount * 100;
        return (float)Math.Round(Math.Clamp(percent, 0, 100), 1);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
