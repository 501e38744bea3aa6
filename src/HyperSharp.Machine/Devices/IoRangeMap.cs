namespace HyperSharp.Machine.Devices;

/// <summary>
/// Address ranges mapped to devices. Adding a range that overlaps another is refused. Lookups
/// are lock-free over an immutable sorted array that is replaced when devices come and go (hotplug).
/// </summary>
public sealed class IoRangeMap<TDevice>(string name) where TDevice : class
{
    private readonly record struct Range(ulong Start, ulong Length, TDevice Device, string DeviceName);

    private Range[] _ranges = [];
    private readonly object _change = new();

    public void Add(ulong start, ulong length, TDevice device, string deviceName)
    {
        if (length == 0 || start + length < start) throw new ArgumentException($"{name}: empty or wrapping range at 0x{start:X} for {deviceName}");
        lock (_change)
        {
            foreach (var r in _ranges)
                if (start < r.Start + r.Length && r.Start < start + length)
                    throw new InvalidOperationException($"{name}: range 0x{start:X}+0x{length:X} for {deviceName} overlaps 0x{r.Start:X}+0x{r.Length:X} of {r.DeviceName}");
            Volatile.Write(ref _ranges, _ranges.Append(new Range(start, length, device, deviceName)).OrderBy(r => r.Start).ToArray());
        }
    }

    public bool Remove(TDevice device)
    {
        lock (_change)
        {
            var next = _ranges.Where(r => !ReferenceEquals(r.Device, device)).ToArray();
            bool removed = next.Length != _ranges.Length;
            Volatile.Write(ref _ranges, next);
            return removed;
        }
    }

    /// <summary>Finds the device whose range holds <paramref name="address"/>; <paramref name="offset"/> is relative to its start.</summary>
    public bool TryFind(ulong address, out TDevice device, out ulong offset, out string deviceName)
    {
        var ranges = Volatile.Read(ref _ranges);
        int lo = 0, hi = ranges.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var r = ranges[mid];
            if (address < r.Start) hi = mid - 1;
            else if (address - r.Start >= r.Length) lo = mid + 1;
            else { device = r.Device; offset = address - r.Start; deviceName = r.DeviceName; return true; }
        }
        device = null!; offset = 0; deviceName = "";
        return false;
    }
}
