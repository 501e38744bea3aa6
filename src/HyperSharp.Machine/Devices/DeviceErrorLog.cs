namespace HyperSharp.Machine.Devices;

/// <summary>Logs device failures at most once a second, so a guest hammering a broken device cannot flood the host's log.</summary>
public sealed class DeviceErrorLog(Action<string> sink)
{
    private long _lastTicks = long.MinValue / 2;
    private int _suppressed;

    public void Report(string bus, string device, ulong address, Exception error)
    {
        long now = Environment.TickCount64;
        long last = Interlocked.Read(ref _lastTicks);
        if (now - last < 1000 || Interlocked.CompareExchange(ref _lastTicks, now, last) != last)
        {
            Interlocked.Increment(ref _suppressed);
            return;
        }
        int suppressed = Interlocked.Exchange(ref _suppressed, 0);
        sink($"{bus}: {device} failed at 0x{address:X}: {error.GetType().Name}: {error.Message}" + (suppressed > 0 ? $" ({suppressed} more suppressed)" : ""));
    }
}
