namespace HyperSharp.Web.Usage;

/// <summary>One look at a VM's (or all VMs') use of the host: when, CPU % of the host's logical processors (NaN: not known yet), assigned memory in MiB.</summary>
internal readonly record struct UsageSample(long UnixMs, float CpuPercent, int MemoryMb);

/// <summary>
/// The last <c>capacity</c> samples of one VM, oldest overwritten first: the memory a chart's hour costs is fixed when the
/// history is made (16 bytes a sample), however long the host runs.
/// </summary>
internal sealed class UsageHistory(int capacity)
{
    private readonly UsageSample[] _ring = new UsageSample[capacity];
    private int _next, _count;

    public int Capacity => capacity;

    public void Add(UsageSample sample)
    {
        lock (_ring)
        {
            _ring[_next] = sample;
            _next = (_next + 1) % _ring.Length;
            _count = Math.Min(_count + 1, _ring.Length);
        }
    }

    /// <summary>The samples taken after <paramref name="afterUnixMs"/>, oldest first (0: all that are kept).</summary>
    public List<UsageSample> Since(long afterUnixMs)
    {
        lock (_ring)
        {
            var samples = new List<UsageSample>(_count);
            for (int i = 0; i < _count; i++)
            {
                var s = _ring[(_next - _count + i + _ring.Length) % _ring.Length];
                if (s.UnixMs > afterUnixMs) samples.Add(s);
            }
            return samples;
        }
    }
}
