using System.Diagnostics;
using HyperSharp.Vhdx;

namespace HyperSharp.Bench;

/// <summary>
/// Block I/O through the library the way a VMM's queues drive it: --depth threads issue direct,
/// synchronous Read/Write calls. Request i goes to (offset + i*step) mod capacity, the same
/// sequence `qemu-img bench -o offset -S step` issues, so both tools touch the same bytes in the
/// same order. Like qemu-img bench, the timing covers the requests and not the final flush/close.
/// The first 5% of the requests run once untimed first, so the JIT's tiering (ours) is excluded
/// just as process startup is; the image used is fully allocated, so this moves no allocation
/// out of the timed run.
/// </summary>
internal static class IoBench
{
    public static int Run(string[] args)
    {
        if (args.Length < 1) return Program.Fail("usage: io IMAGE [--write] [--bs 4096] [--step BYTES] [--count N] [--depth 4] [--offset 0] [--pattern 171]");
        bool write = Program.Flag(args, "--write");
        int bs = int.Parse(Program.Option(args, "--bs", "4096"));
        long step = long.Parse(Program.Option(args, "--step", bs.ToString()));
        long count = long.Parse(Program.Option(args, "--count", "100000"));
        int depth = int.Parse(Program.Option(args, "--depth", "4"));
        long start = long.Parse(Program.Option(args, "--offset", "0"));
        byte pattern = byte.Parse(Program.Option(args, "--pattern", "171"));
        using var disk = VirtualDisk.Open(args[0], write ? DiskOpenOptions.Default : DiskOpenOptions.ReadOnlyDefault);
        RunThreads(disk, write, bs, step, Math.Max(64, count / 20), depth, start, pattern);
        double seconds = RunThreads(disk, write, bs, step, count, depth, start, pattern);
        if (write) disk.Flush();
        Console.WriteLine($"seconds={seconds:F3} iops={count / seconds:F0} mibps={count * (double)bs / seconds / (1 << 20):F1}");
        return 0;
    }

    /// <summary>Issues requests 0..count-1 from <paramref name="depth"/> threads; returns the seconds taken.</summary>
    private static double RunThreads(IVirtualDisk disk, bool write, int bs, long step, long count, int depth, long start, byte pattern)
    {
        long capacity = disk.Capacity;
        long next = -1;
        var threads = new Thread[depth];
        Exception? failure = null;
        for (int t = 0; t < depth; t++)
        {
            var buffer = PageAlignedBuffer.Allocate(bs);
            buffer.Memory.Span.Fill(pattern);
            threads[t] = new Thread(() =>
            {
                using var owned = buffer;
                var span = owned.Memory.Span;
                try
                {
                    long i;
                    while ((i = Interlocked.Increment(ref next)) < count)
                    {
                        long offset = (start + i * step) % capacity;
                        if (write) disk.Write(offset, span);
                        else disk.Read(offset, span);
                    }
                }
                catch (Exception e) { failure = e; }
            });
        }
        var clock = Stopwatch.StartNew();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        double seconds = clock.Elapsed.TotalSeconds;
        if (failure is not null) throw failure;
        return seconds;
    }
}
