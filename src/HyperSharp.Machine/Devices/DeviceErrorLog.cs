namespace HyperSharp.Machine.Devices;

/// <summary>Logs device failures and refused guest requests at most once a second, so a guest hammering a device cannot flood the host's log.</summary>
public sealed class DeviceErrorLog(Action<string> sink)
{
    private long _lastTicks = long.MinValue / 2;
    private int _suppressed;

    public void Report(string bus, string device, ulong address, Exception error) =>
        Report($"{bus}: {device} failed at 0x{address:X}: {error.GetType().Name}: {error.Message}");

    /// <summary>Logs <paramref name="message"/> unless another went out less than a second ago (then it is counted).</summary>
    public void Report(string message)
    {
        long now = Environment.TickCount64;
        long last = Interlocked.Read(ref _lastTicks);
        if (now - last < 1000 || Interlocked.CompareExchange(ref _lastTicks, now, last) != last)
        {
            Interlocked.Increment(ref _suppressed);
            return;
        }
        int suppressed = Interlocked.Exchange(ref _suppressed, 0);
        sink(message + (suppressed > 0 ? $" ({suppressed} more suppressed)" : ""));
    }
}
