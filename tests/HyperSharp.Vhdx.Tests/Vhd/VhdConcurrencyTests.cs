using HyperSharp.Vhdx.Vhd;

namespace HyperSharp.Vhdx.Tests.Vhd;

/// <summary>
/// Many threads reading and writing one disk: block allocation races (several threads hitting the
/// same unallocated block), sector-bitmap races in differencing disks, overlapping writes.
/// </summary>
public class VhdConcurrencyTests
{
    private const long Capacity = 32L * VhdTest.MiB;
    private const int Threads = 8;

    [Theory]
    [InlineData(DiskType.Fixed)]
    [InlineData(DiskType.Dynamic)]
    [InlineData(DiskType.Differencing)]
    public void ParallelWritersOnDistinctAndSharedBlocks_AllDataLands(DiskType type)
    {
        using var dir = new TempDir();
        string path = dir.File("c.vhd");
        byte[] parentData = VhdTest.Pattern((int)Capacity, 99);
        var disk = Open(dir, path, type, parentData);
        var reference = type == DiskType.Differencing ? (byte[])parentData.Clone() : new byte[Capacity];
        using (disk)
        {
            using var start = new Barrier(Threads);
            var errors = new List<Exception>();
            var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
            {
                try
                {
                    start.SignalAndWait();
                    var rng = new Random(t);
                    for (int i = 0; i < 64; i++)
                    {
                        // Stripe s of every 2 MiB block belongs to thread s % Threads: all threads
                        // hit the same unallocated blocks at once, each on its own sectors.
                        long block = i % 16;
                        long offset = block * 2 * VhdTest.MiB + (long)t * 4096 + (i / 16) * 64 * 1024;
                        byte[] data = VhdTest.Pattern(4096, t * 1000 + i);
                        disk.Write(offset, data);
                        lock (reference) data.CopyTo(reference, offset);
                        // Reads in flight too, anywhere.
                        var scratch = new byte[8192];
                        disk.Read(rng.NextInt64(0, Capacity / 512 - 16) * 512, scratch);
                    }
                }
                catch (Exception e) { lock (errors) errors.Add(e); }
            })).ToList();
            threads.ForEach(th => th.Start());
            threads.ForEach(th => th.Join());
            Assert.Empty(errors);
            Assert.Equal(reference, VhdTest.ReadAll(disk));
            disk.Flush();
        }
        // The metadata written under contention is consistent on disk too.
        using var again = VhdDisk.Open(path, DiskOpenOptions.ReadOnlyDefault);
        Assert.Equal(reference, VhdTest.ReadAll(again));
    }

    [Theory]
    [InlineData(DiskType.Dynamic)]
    [InlineData(DiskType.Differencing)]
    public void OverlappingWriters_EachSectorHoldsOneWritersData(DiskType type)
    {
        using var dir = new TempDir();
        string path = dir.File("o.vhd");
        var disk = Open(dir, path, type, VhdTest.Pattern((int)Capacity, 7));
        using (disk)
        {
            const int Length = 3 * VhdTest.MiB; // spans two blocks, every thread writes all of it
            var patterns = Enumerable.Range(0, Threads).Select(t => Enumerable.Repeat((byte)(t + 1), Length).ToArray()).ToArray();
            using var start = new Barrier(Threads);
            Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t =>
            {
                start.SignalAndWait();
                for (int i = 0; i < 2; i++) disk.Write(VhdTest.MiB, patterns[t]);
            });
            var result = new byte[Length];
            disk.Read(VhdTest.MiB, result);
            for (int s = 0; s < Length; s += 512)
            {
                byte first = result[s];
                Assert.InRange(first, (byte)1, (byte)Threads);
                Assert.All(result.AsSpan(s, 512).ToArray(), b => Assert.Equal(first, b));
            }
        }
    }

    [Fact]
    public async Task GrowingWhileWritersRun_LosesNothing()
    {
        using var dir = new TempDir();
        string path = dir.File("g.vhd");
        using var disk = VhdTest.Create(path, DiskType.Dynamic, 8L * VhdTest.MiB, blockSize: 64 * 1024);
        // 8 MiB in 64 KiB blocks = 128 entries, exactly one BAT sector: each grow below moves the table.
        var reference = new byte[8 * VhdTest.MiB];
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            int i = 0;
            while (!stop.IsCancellationRequested || i < 64)
            {
                // Slot numbers stay congruent to t mod 4: each thread owns its slots, no ordering needed.
                long offset = ((long)(i++ * 4 + t) * 32 * 1024) % reference.Length;
                byte[] data = VhdTest.Pattern(4096, t * 100_000 + i);
                disk.Write(offset, data);
                data.CopyTo(reference, offset);
                if (i > 4096) break;
            }
        })).ToArray();
        for (int g = 1; g <= 4; g++) disk.Resize((8L << g) * VhdTest.MiB);
        stop.Cancel();
        await Task.WhenAll(writers);
        Assert.Equal(128L * VhdTest.MiB, disk.Capacity);
        var low = new byte[reference.Length];
        disk.Read(0, low);
        Assert.Equal(reference, low);
        disk.Dispose();
        using var again = VhdDisk.Open(path);
        again.Read(0, low);
        Assert.Equal(reference, low);
    }

    private static VhdDisk Open(TempDir dir, string path, DiskType type, byte[] parentData)
    {
        if (type != DiskType.Differencing) return VhdTest.Create(path, type, Capacity);
        using (var p = VhdTest.Create(dir.File("parent.vhd"), DiskType.Dynamic, Capacity)) p.Write(0, parentData);
        return VhdTest.Create(path, DiskType.Differencing, 0, dir.File("parent.vhd"));
    }
}
