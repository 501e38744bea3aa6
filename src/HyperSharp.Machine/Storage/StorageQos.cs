using System.Diagnostics;

namespace HyperSharp.Machine.Storage;

/// <summary>
/// Storage QoS for one disk as Hyper-V counts it: in normalized IOPS, where a request costs one unit for every 8 KiB it
/// moves (started units count; a flush or a request without data costs one). The maximum is enforced with a token bucket
/// whose balance may go negative: a request that starts with tokens left runs whole, and the next one waits until the
/// debt is paid, so the rate over any second stays at the maximum and a large request is never split. The minimum is
/// Hyper-V's alert, not a reservation: when a disk that was kept busy got less than its minimum over a window, the
/// <see cref="BelowMinimum"/> callback says so once for that window.
/// </summary>
public sealed class StorageQos(Func<long>? clock = null)
{
    public const int NormalizedIoBytes = 8 * 1024;

    /// <summary>The window over which the minimum is judged (Hyper-V's Storage QoS reports at a similar scale).</summary>
    public static readonly TimeSpan MinimumWindow = TimeSpan.FromSeconds(5);

    /// <summary>The bucket holds a tenth of a second of the maximum: enough for a burst of queued requests, not enough to beat the limit over a second.</summary>
    private const double BurstSeconds = 0.1;

    private readonly Func<long> _clock = clock ?? Stopwatch.GetTimestamp;
    private readonly object _lock = new();
    private long _maximum, _minimum;
    private volatile bool _limited;
    private double _tokens;
    private long _refilled;
    private long _windowStart, _windowUnits, _windowBusy;

    public long MaximumIops { get { lock (_lock) return _maximum; } }

    public long MinimumIops { get { lock (_lock) return _minimum; } }

    /// <summary>Called (outside the lock) with the units done and the window's length when a busy disk fell short of its minimum.</summary>
    public Action<long, TimeSpan>? BelowMinimum { get; set; }

    /// <summary>The request's cost in normalized units.</summary>
    public static long Cost(ulong bytes) => Math.Max(1, (long)((bytes + NormalizedIoBytes - 1) / NormalizedIoBytes));

    /// <summary>Sets the limits in normalized IOPS; 0 means none. A maximum below the minimum is refused.</summary>
    public void Set(long maximum, long minimum)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maximum);
        ArgumentOutOfRangeException.ThrowIfNegative(minimum);
        if (maximum != 0 && minimum > maximum)
            throw new ArgumentException($"the maximum ({maximum} IOPS) is below the minimum ({minimum} IOPS)");
        lock (_lock)
        {
            _maximum = maximum;
            _minimum = minimum;
            _tokens = Capacity(maximum);
            _refilled = _windowStart = _clock();
            _windowUnits = _windowBusy = 0;
            _limited = maximum != 0 || minimum != 0;
        }
    }

    /// <summary>Whether a request may start now; when not, how long until one may.</summary>
    public bool MayStart(out TimeSpan wait)
    {
        wait = TimeSpan.Zero;
        if (!_limited) return true;
        lock (_lock)
        {
            if (_maximum == 0) return true;
            Refill();
            if (_tokens > 0) return true;
            wait = TimeSpan.FromSeconds(Math.Max((1 - _tokens) / _maximum, 0.001));
            return false;
        }
    }

    /// <summary>Records a finished request of <paramref name="bytes"/> that kept the device busy for <paramref name="busyTicks"/> (Stopwatch ticks).</summary>
    public void Charge(ulong bytes, long busyTicks)
    {
        if (!_limited) return;
        long units = Cost(bytes);
        (long Units, TimeSpan Window)? shortfall = null;
        lock (_lock)
        {
            if (_maximum != 0) { Refill(); _tokens -= units; }
            _windowUnits += units;
            _windowBusy += busyTicks;
            shortfall = RollWindow();
        }
        if (shortfall is { } s) BelowMinimum?.Invoke(s.Units, s.Window);
    }

    private void Refill()
    {
        long now = _clock();
        _tokens = Math.Min(Capacity(_maximum), _tokens + (now - _refilled) * (double)_maximum / Stopwatch.Frequency);
        _refilled = now;
    }

    /// <summary>Closes a window that is over; a disk busy for at least half of it that did less than the minimum is reported.</summary>
    private (long, TimeSpan)? RollWindow()
    {
        long now = _clock(), length = now - _windowStart;
        if (length < MinimumWindow.TotalSeconds * Stopwatch.Frequency) return null;
        var window = TimeSpan.FromSeconds(length / (double)Stopwatch.Frequency);
        bool busy = _windowBusy * 2 >= length;
        long units = _windowUnits;
        _windowStart = now;
        _windowUnits = _windowBusy = 0;
        return _minimum != 0 && busy && units < _minimum * window.TotalSeconds ? (units, window) : null;
    }

    private static double Capacity(long maximum) => Math.Max(1, maximum * BurstSeconds);
}
