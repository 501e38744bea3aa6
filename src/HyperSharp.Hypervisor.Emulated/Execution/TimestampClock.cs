using System.Diagnostics;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// The one time-stamp counter of a partition: host monotonic time at <see cref="X86Cpu.TscHz"/>, counted from the
/// partition's reset. Every processor reads this clock and adds only its own IA32_TSC_ADJUST (0 from reset), so the
/// TSC is equal on all of them and never goes backwards from one to another: a read on one vCPU thread that follows a
/// read on another (ordered by whatever the guest synchronizes with, a lock or a flag in memory) reads a later host
/// time. Linux checks exactly that at boot (tsc_sync.c: CPUs take turns reading the TSC under a lock) before it trusts
/// the TSC as its clock.
/// </summary>
public sealed class TimestampClock
{
    private long _origin; // host ticks (at TscHz) of count 0

    public TimestampClock() => Reset();

    /// <summary>The count now (before any processor's TSC_ADJUST).</summary>
    public long Count => HostTicks() - Volatile.Read(ref _origin);

    /// <summary>Back to count 0: a partition's power-on.</summary>
    public void Reset() => Volatile.Write(ref _origin, HostTicks());

    /// <summary>Makes the count <paramref name="count"/> now and continue from there (a restored processor's TSC).</summary>
    public void SetCount(long count) => Volatile.Write(ref _origin, HostTicks() - count);

    /// <summary>Host monotonic time (CLOCK_MONOTONIC on Linux: one clock for every host CPU) at TscHz.</summary>
    private static long HostTicks()
    {
        long t = Stopwatch.GetTimestamp();
        return Stopwatch.Frequency == X86Cpu.TscHz ? t : (long)((Int128)t * X86Cpu.TscHz / Stopwatch.Frequency);
    }
}
