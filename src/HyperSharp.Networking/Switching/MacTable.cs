namespace HyperSharp.Networking.Switching;

/// <summary>
/// Learned addresses: (VLAN, MAC) to the port they were last seen on, forgotten after the aging
/// time. Bounded so a flood of invented source addresses cannot grow it: when full, expired entries
/// are swept, and if it is still full new addresses are not learned (their frames are flooded).
/// </summary>
internal sealed class MacTable(int capacity, TimeSpan agingTime, TimeProvider time)
{
    private readonly Dictionary<ulong, (SwitchPort Port, long Seen)> _entries = new(Math.Min(capacity, 1024));
    private readonly long _agingTicks = (long)(agingTime.TotalSeconds * time.TimestampFrequency);
    private readonly object _lock = new();
    private long _lastSweep = long.MinValue;

    public static ulong Key(ushort vlan, ulong mac) => (ulong)vlan << 48 | mac;

    public int Count { get { lock (_lock) return _entries.Count; } }

    /// <summary>Records that <paramref name="key"/> was seen on <paramref name="port"/>, and returns where <paramref name="destination"/> is (null: unknown).</summary>
    public SwitchPort? LearnAndLookup(ulong key, SwitchPort port, ulong destination, bool lookup)
    {
        long now = time.GetTimestamp();
        lock (_lock)
        {
            if (_entries.Count < capacity || _entries.ContainsKey(key) || Sweep(now)) _entries[key] = (port, now);
            if (!lookup || !_entries.TryGetValue(destination, out var found)) return null;
            if (now - found.Seen <= _agingTicks && !found.Port.IsRemoved) return found.Port;
            _entries.Remove(destination);
            return null;
        }
    }

    /// <summary>Drops expired entries; true when there is room afterwards. Caller holds the lock.</summary>
    private bool Sweep(long now)
    {
        // At most one sweep a second: under a flood of new addresses a full table must not cost a scan per frame.
        if (now - _lastSweep < time.TimestampFrequency) return false;
        _lastSweep = now;
        foreach (var (key, entry) in _entries)
            if (now - entry.Seen > _agingTicks || entry.Port.IsRemoved) _entries.Remove(key);
        return _entries.Count < capacity;
    }

    public void Forget(SwitchPort port)
    {
        lock (_lock)
            foreach (var (key, entry) in _entries)
                if (entry.Port == port) _entries.Remove(key);
    }

    /// <summary>The port a (VLAN, MAC) is learned on, if it has not aged out.</summary>
    public SwitchPort? Find(ushort vlan, ulong mac)
    {
        long now = time.GetTimestamp();
        lock (_lock)
            return _entries.TryGetValue(Key(vlan, mac), out var e) && now - e.Seen <= _agingTicks ? e.Port : null;
    }
}
