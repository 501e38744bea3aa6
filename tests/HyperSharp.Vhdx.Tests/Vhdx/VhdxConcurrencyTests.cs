using HyperSharp.Vhdx.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Vhdx.Tests.Vhdx;

public class VhdxConcurrencyTests(ITestOutputHelper output)
{
    [Fact]
    public void ManyThreadsRacingOnSharedBlocksLoseNoWrite()
    {
        using var dir = new TempDir();
        string path = dir.File("race.vhdx");
        const int slot = 4096, slots = 64 * 256, threads = 8; // 64 MiB of 4 KiB slots over 1 MiB blocks
        using (var disk = VhdxDisk.Create(path, new DiskCreateOptions { Capacity = (long)slot * slots, BlockSize = 1 << 20 }))
        {
            // Slot i belongs to thread i % 8, so every block is allocated by several threads at once.
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                var buffer = new byte[slot];
                for (int i = t; i < slots; i += threads)
                {
                    Fill(buffer, i);
                    disk.Write((long)i * slot, buffer);
                    if (i % 1000 == t) disk.Flush();
                }
            });
        }
        using (var disk = VhdxDisk.Open(path, DiskOpenOptions.ReadOnlyDefault))
        {
            var buffer = new byte[slot];
            var expected = new byte[slot];
            for (int i = 0; i < slots; i++)
            {
                disk.Read((long)i * slot, buffer);
                Fill(expected, i);
                Assert.True(expected.AsSpan().SequenceEqual(buffer), $"slot {i} lost its write");
            }
        }
        if (QemuImg.Available) QemuImg.AssertClean(path); else output.WriteLine(QemuImg.MissingReason);
    }

    [Fact]
    public async Task OnlineGrowWhileWritingRelocatesBatAndKeepsData()
    {
        using var dir = new TempDir();
        string path = dir.File("grow.vhdx");
        long capacity = 1L << 30;
        using var disk = VhdxDisk.Create(path, new DiskCreateOptions { Capacity = capacity, BlockSize = 1 << 20 });
        int changes = 0;
        disk.CapacityChanged += _ => Interlocked.Increment(ref changes);
        using var stop = new CancellationTokenSource();
        var written = new System.Collections.Concurrent.ConcurrentDictionary<long, int>();
        var writer = Task.Run(() =>
        {
            var buffer = new byte[4096];
            var rng = new Random(7);
            for (int n = 0; !stop.IsCancelled(); n++)
            {
                long at = rng.NextInt64(0, capacity / 4096) * 4096; // always inside the original size
                Fill(buffer, n);
                disk.Write(at, buffer);
                written[at] = n;
            }
        });
        foreach (long size in new[] { 2L << 30, 150L << 30, 300L << 30 }) // 150 GiB needs a larger BAT than the first 1 MiB
        {
            Thread.Sleep(50);
            disk.Resize(size);
            Assert.Equal(size, disk.Capacity);
        }
        stop.Cancel();
        await writer;
        disk.Write((300L << 30) - 4096, new byte[4096].Select(_ => (byte)0x77).ToArray());
        disk.Dispose();
        Assert.Equal(3, changes);
        using var reopened = VhdxDisk.Open(path, DiskOpenOptions.ReadOnlyDefault);
        Assert.Equal(300L << 30, reopened.Capacity);
        var back = new byte[4096];
        var expected = new byte[4096];
        foreach (var (at, n) in written)
        {
            reopened.Read(at, back);
            Fill(expected, n);
            Assert.True(expected.AsSpan().SequenceEqual(back), $"write at {at} lost");
        }
        reopened.Read((300L << 30) - 4096, back);
        Assert.All(back, b => Assert.Equal(0x77, b));
        output.WriteLine($"{written.Count} distinct 4 KiB writes raced with 3 online resizes");
        if (QemuImg.Available)
        {
            QemuImg.AssertClean(path);
            Assert.Contains("322122547200 bytes", QemuImg.Run("info", path).Output);
        }
    }

    internal static void Fill(byte[] buffer, int seed)
    {
        new Random(seed).NextBytes(buffer);
    }
}

internal static class CancellationExtensions
{
    public static bool IsCancelled(this CancellationTokenSource cts) => cts.IsCancellationRequested;
}
