using HyperSharp.Vhdx.CrashWriter;
using Xunit.Abstractions;

namespace HyperSharp.Vhdx.Tests.Vhdx;

/// <summary>
/// Many threads on one open image (the VMM's I/O queues): each thread owns interleaved stripes of
/// the disk and writes, unmaps and reads them back while another thread flushes; blocks are shared
/// between threads (stripes are smaller than a block), so allocation and sector-bitmap updates race.
/// Afterwards the image is reopened and compared with every thread's model, and qemu-img checks it.
/// </summary>
public class VhdxConcurrentStripesTests(ITestOutputHelper output)
{
    private const long MiB = 1 << 20;

    [Theory]
    [InlineData(DiskType.Dynamic, 512)]
    [InlineData(DiskType.Dynamic, 4096)]
    [InlineData(DiskType.Differencing, 512)]
    public void ConcurrentWritersUnmapsAndFlushesKeepEveryThreadsData(DiskType type, int sector)
    {
        using var dir = new TempDir();
        string path = dir.File("c.vhdx"), parentPath = dir.File("p.vhdx");
        const long capacity = 64 * MiB;
        const int threads = 6, stripe = 64 * 1024, opsPerThread = 400;
        long[] state = new long[capacity / sector]; // generation per sector (0 = zeros); each sector has one owner
        if (type == DiskType.Differencing)
        {
            using (var p = VirtualDisk.Create(parentPath, new DiskCreateOptions { Capacity = capacity, BlockSize = 8 * (int)MiB, LogicalSectorSize = sector }))
            {
                var chunk = new byte[8 * MiB];
                for (long at = 0; at < capacity; at += chunk.Length) { CrashWorkload.Fill(chunk, at, sector, 1); p.Write(at, chunk); }
            }
            Array.Fill(state, 1L);
            VirtualDisk.Create(path, new DiskCreateOptions { Type = DiskType.Differencing, ParentPath = parentPath, BlockSize = (int)MiB }).Dispose();
        }
        else VirtualDisk.Create(path, new DiskCreateOptions { Capacity = capacity, BlockSize = (int)MiB, LogicalSectorSize = sector }).Dispose();

        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using (var disk = VirtualDisk.Open(path))
        {
            bool stop = false;
            var flusher = new Thread(() =>
            {
                try { while (!Volatile.Read(ref stop)) { disk.Flush(); Thread.Sleep(3); } }
                catch (Exception e) { errors.Enqueue($"flusher: {e}"); }
            });
            flusher.Start();
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
              try
              {
                var rng = new Random(1000 + t);
                var buffer = new byte[stripe];
                var back = new byte[stripe];
                var scratch = new byte[sector];
                long stripes = capacity / stripe;
                for (int op = 1; op <= opsPerThread; op++)
                {
                    // Stripes t, t + threads, t + 2*threads, ... belong to this thread.
                    long s = rng.NextInt64(stripes / threads) * threads + t;
                    int first = rng.Next(stripe / sector), count = 1 + rng.Next(stripe / sector - first);
                    long at = s * stripe + (long)first * sector;
                    int length = count * sector;
                    long generation = (t + 1) * 1_000_000L + op;
                    if (rng.Next(6) == 0)
                    {
                        disk.Unmap(at, length);
                        for (long x = at / sector; x < (at + length) / sector; x++) state[x] = 0;
                    }
                    else
                    {
                        CrashWorkload.Fill(buffer.AsSpan(0, length), at, sector, generation);
                        disk.Write(at, buffer.AsSpan(0, length));
                        for (long x = at / sector; x < (at + length) / sector; x++) state[x] = generation;
                    }
                    // Read the whole stripe back while the others write next to it.
                    disk.Read(s * stripe, back);
                    for (int i = 0; i < stripe; i += sector)
                    {
                        long x = (s * stripe + i) / sector;
                        long g = CrashWorkload.Decode(back.AsSpan(i, sector), x, scratch);
                        if (g != state[x]) { errors.Enqueue($"thread {t} op {op}: sector {x} reads generation {g}, expected {state[x]}"); return; }
                    }
                }
              }
              catch (Exception e) { errors.Enqueue($"thread {t}: {e}"); }
            })).ToArray();
            foreach (var w in workers) w.Start();
            foreach (var w in workers) w.Join();
            Volatile.Write(ref stop, true);
            flusher.Join();
        }
        Assert.True(errors.IsEmpty, string.Join("\n", errors.Take(5)));

        using (var disk = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault))
        {
            var buffer = new byte[4 * MiB];
            var scratch = new byte[sector];
            for (long at = 0; at < capacity; at += buffer.Length)
            {
                disk.Read(at, buffer);
                for (int i = 0; i < buffer.Length; i += sector)
                {
                    long x = (at + i) / sector;
                    long g = CrashWorkload.Decode(buffer.AsSpan(i, sector), x, scratch);
                    Assert.True(g == state[x], $"after reopening: sector {x} reads generation {g}, expected {state[x]}");
                }
            }
        }
        if (type != DiskType.Differencing && PeerTools.CanCheck(output, path, sector)) PeerTools.AssertCheckClean(path);
    }

    /// <summary>Online grow (the last step moves the BAT) while threads write, read and flush.</summary>
    [Fact]
    public void OnlineGrowDuringIoLosesNothing()
    {
        using var dir = new TempDir();
        string path = dir.File("g.vhdx");
        const long capacity = 64 * MiB;
        const int sector = 512, threads = 4, stripe = 64 * 1024;
        long[] state = new long[capacity / sector];
        long[] sizes = [256 * MiB, 4L << 30, 150L << 30];
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        int capacityEvents = 0;
        using (var disk = VirtualDisk.Create(path, new DiskCreateOptions { Capacity = capacity, BlockSize = (int)MiB }))
        {
            disk.CapacityChanged += _ => Interlocked.Increment(ref capacityEvents);
            bool stop = false;
            var resizer = new Thread(() =>
            {
                try
                {
                    foreach (long size in sizes) { Thread.Sleep(30); disk.Resize(size); }
                }
                catch (Exception e) { errors.Enqueue($"resizer: {e}"); }
            });
            var flusher = new Thread(() =>
            {
                try { while (!Volatile.Read(ref stop)) { disk.Flush(); Thread.Sleep(5); } }
                catch (Exception e) { errors.Enqueue($"flusher: {e}"); }
            });
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                try
                {
                    var rng = new Random(t);
                    var buffer = new byte[stripe];
                    var back = new byte[stripe];
                    var scratch = new byte[sector];
                    for (int op = 1; op <= 300; op++)
                    {
                        long s = rng.NextInt64(capacity / stripe / threads) * threads + t;
                        long generation = (t + 1) * 1_000_000L + op;
                        CrashWorkload.Fill(buffer, s * stripe, sector, generation);
                        disk.Write(s * stripe, buffer);
                        for (long x = s * stripe / sector; x < (s + 1) * stripe / sector; x++) state[x] = generation;
                        disk.Read(s * stripe, back);
                        if (!back.AsSpan().SequenceEqual(buffer)) { errors.Enqueue($"thread {t} op {op}: stripe {s} did not read back"); return; }
                    }
                }
                catch (Exception e) { errors.Enqueue($"thread {t}: {e}"); }
            })).ToArray();
            resizer.Start();
            flusher.Start();
            foreach (var w in workers) w.Start();
            foreach (var w in workers) w.Join();
            resizer.Join();
            Volatile.Write(ref stop, true);
            flusher.Join();
            Assert.True(errors.IsEmpty, string.Join("\n", errors.Take(5)));
            Assert.Equal(sizes[^1], disk.Capacity);
            Assert.Equal(sizes.Length, capacityEvents);
            var high = new byte[stripe];
            CrashWorkload.Fill(high, (140L << 30), sector, 42);
            disk.Write(140L << 30, high);
        }
        using (var disk = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault))
        {
            Assert.Equal(sizes[^1], disk.Capacity);
            var buffer = new byte[4 * MiB];
            var scratch = new byte[sector];
            for (long at = 0; at < capacity; at += buffer.Length)
            {
                disk.Read(at, buffer);
                for (int i = 0; i < buffer.Length; i += sector)
                {
                    long x = (at + i) / sector;
                    long g = CrashWorkload.Decode(buffer.AsSpan(i, sector), x, scratch);
                    Assert.True(g == state[x], $"after reopening: sector {x} reads generation {g}, expected {state[x]}");
                }
            }
            var high = new byte[stripe];
            disk.Read(140L << 30, high);
            Assert.Equal(42, CrashWorkload.Decode(high.AsSpan(0, sector), (140L << 30) / sector, scratch));
        }
        if (PeerTools.Available(output)) PeerTools.AssertCheckClean(path);
    }
}
