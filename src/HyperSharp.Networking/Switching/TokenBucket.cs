namespace HyperSharp.Networking.Switching;

/// <summary>
/// Bandwidth limit in bits per second: tokens accrue at the rate up to a burst of 100 ms worth (at
/// least two jumbo frames, so one frame always fits), and a frame passes only if its bits are there.
/// </summary>
internal sealed class TokenBucket(long bitsPerSecond, TimeProvider time)
{
    private readonly double _capacity = Math.Max(bitsPerSecond / 10.0, 2 * 9018 * 8);
    private readonly object _lock = new();
    private double _tokens = Math.Max(bitsPerSecond / 10.0, 2 * 9018 * 8);
    private long _last = time.GetTimestamp();

    public long Rate => bitsPerSecond;

    public bool TryTake(int bytes)
    {
        lock (_lock)
        {
            long now = time.GetTimestamp();
            _tokens = Math.Min(_capacity, _tokens + (double)(now - _last) / time.TimestampFrequency * bitsPerSecond);
            _last = now;
            double bits = bytes * 8.0;
            if (_tokens < bits) return false;
            _tokens -= bits;
            return true;
        }
    }
}
