using System.Collections.Concurrent;
using HyperSharp.Hypervisor.Emulated.Execution;

namespace HyperSharp.Hypervisor.Emulated.Backend;

/// <summary>
/// A diagnostic sampling profiler of guest code: with HYPERSHARP_GUEST_PROFILE=FILE set, a thread reads
/// each vCPU's RIP once a millisecond and, when the partition goes away, writes "rip count" lines
/// (halted time as the pseudo-address "halted"). eng/guest-profile.sh symbolizes them against the guest
/// kernel's System.map. Host time is what is sampled, so the profile says where boot time goes.
/// </summary>
internal sealed class GuestProfiler : IDisposable
{
    public const string EnvironmentVariable = "HYPERSHARP_GUEST_PROFILE";
    private readonly string _path;
    private readonly ConcurrentBag<(X86Cpu cpu, Func<bool> halted)> _cpus = [];
    private readonly Dictionary<ulong, long> _counts = [];
    private long _halted;
    private readonly Thread _thread;
    private volatile bool _stop;

    private GuestProfiler(string path)
    {
        _path = path;
        _thread = new Thread(Sample) { IsBackground = true, Name = "guest-profiler" };
        _thread.Start();
    }

    /// <summary>A profiler when the environment asks for one, else null.</summary>
    public static GuestProfiler? FromEnvironment()
    {
        var path = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return string.IsNullOrEmpty(path) ? null : new GuestProfiler(path);
    }

    public void Add(X86Cpu cpu, Func<bool> halted) => _cpus.Add((cpu, halted));

    private void Sample()
    {
        while (!_stop)
        {
            Thread.Sleep(1);
            lock (_counts)
            {
                foreach (var (cpu, halted) in _cpus)
                {
                    if (halted()) { _halted++; continue; }
                    ulong rip = cpu.Rip; // racy by design: a sample, not state
                    _counts[rip] = _counts.GetValueOrDefault(rip) + 1;
                }
            }
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        using var writer = new StreamWriter(_path);
        writer.WriteLine($"halted {_halted}");
        foreach (var (rip, count) in _counts.OrderByDescending(p => p.Value)) writer.WriteLine($"{rip:x} {count}");
    }
}
