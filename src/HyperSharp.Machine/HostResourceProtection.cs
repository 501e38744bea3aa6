using System.Diagnostics;

namespace HyperSharp.Machine;

/// <summary>
/// Hyper-V's host resource protection (Set-VMProcessor -EnableHostResourceProtection): every port I/O and MMIO access a
/// guest makes costs the host work on a vCPU thread (a trip out of the guest and through our device model), so a guest
/// that hammers a device can take a host processor from its neighbours while its own processor time looks like any
/// other. Under protection the VM's accesses are held to a fair share — <see cref="ExitsPerVcpuPerSecond"/> per vCPU,
/// paced by a token bucket with 10 ms of burst — and a vCPU over its share waits on its own thread before its access is
/// served, in steps short enough that a pause or stop is never held up. Each episode of throttling is reported once.
/// </summary>
public sealed class HostResourceProtection
{
    /// <summary>
    /// The fair share. A Linux guest's steady device traffic (a disk or network request, a timer, console output) stays
    /// well below it; a guest at this rate keeps a vCPU thread busy on exits for roughly a tenth of a host core on
    /// hardware virtualization, and on the software processor its device calls cost a tiny part of its running time.
    /// </summary>
    public const int ExitsPerVcpuPerSecond = 20_000;

    private const double BurstSeconds = 0.01;
    private static readonly TimeSpan LongestWait = TimeSpan.FromMilliseconds(5);
    private static readonly long EpisodeGapTicks = Stopwatch.Frequency; // a second without throttling ends an episode

    private readonly object _lock = new();
    private readonly double _rate;
    private readonly Action<string> _report;
    private double _tokens;
    private long _refilled, _lastThrottled;
    private bool _inEpisode;

    public HostResourceProtection(int processors, Action<string> report)
    {
        _rate = (double)ExitsPerVcpuPerSecond * processors;
        _report = report;
        _tokens = Capacity;
        _refilled = Stopwatch.GetTimestamp();
    }

    /// <summary>How long vCPU threads have waited in all: what the protection took from this VM.</summary>
    public TimeSpan Throttled => TimeSpan.FromTicks(Interlocked.Read(ref _throttledTicks) * TimeSpan.TicksPerSecond / Stopwatch.Frequency);
    private long _throttledTicks;

    private double Capacity => Math.Max(1, _rate * BurstSeconds);

    /// <summary>Charges one access on the calling vCPU's thread, waiting while the VM is over its share; returns early when <paramref name="stopping"/> says so.</summary>
    public void Charge(Func<bool> stopping)
    {
        while (true)
        {
            TimeSpan wait;
            string? report = null;
            long now = Stopwatch.GetTimestamp();
            lock (_lock)
            {
                _tokens = Math.Min(Capacity, _tokens + (now - _refilled) * _rate / Stopwatch.Frequency);
                _refilled = now;
                if (_tokens >= 1)
                {
                    _tokens--;
                    if (_inEpisode && now - _lastThrottled > EpisodeGapTicks) _inEpisode = false;
                    return;
                }
                wait = TimeSpan.FromSeconds(Math.Min((1 - _tokens) / _rate, LongestWait.TotalSeconds));
                if (!_inEpisode)
                {
                    _inEpisode = true;
                    report = $"host resource protection: the VM's device accesses are over its share of {_rate:0} a second; its vCPUs wait before each one past that";
                }
                _lastThrottled = now;
            }
            if (report is not null) _report(report);
            long before = Stopwatch.GetTimestamp();
            Thread.Sleep(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait);
            Interlocked.Add(ref _throttledTicks, Stopwatch.GetTimestamp() - before);
            if (stopping()) return;
        }
    }
}
