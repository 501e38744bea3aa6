using System.Buffers.Binary;
using System.Diagnostics;
using HyperSharp.Vhdx.CrashWriter;
using HyperSharp.Vhdx.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Vhdx.Tests.Vhdx;

/// <summary>
/// Crash consistency with a real process kill: the CrashWriter child process does heavy allocating
/// writes (and whole-block unmaps) on a dynamic VHDX, flushing every few operations and journaling
/// (fsynced) the last operation each Flush covered; the test SIGKILLs it at a random moment and then
///  1. opens the image read-only first: a pending log is replayed in memory, every acknowledged
///     write is there, and the file stays byte-identical (compared in full before and after);
///  2. opens it writable (replay into the file): the same content, sector for sector;
///  3. closes it and runs `qemu-img check` (512-byte-sector images; qemu refuses 4096): clean.
/// Every sector must hold the generation of the last acknowledged write to it, or that of a later
/// write the writer may have issued before it was killed (the old or the new content, never garbage).
/// Every third image is a differencing child of a parent filled with generation-1 data (its sector
/// bitmaps go through the log too; qemu cannot check those, a peer gap).
/// The same image serves several trials (the state found after one trial is the baseline of the
/// next), then a fresh one is made so allocation stays heavy.
/// </summary>
public class VhdxCrashConsistencyTests(ITestOutputHelper output)
{
    private const long MiB = 1 << 20;
    private const int TrialsPerImage = 4;
    // Time budget (HYPERSHARP_CRASH_SECONDS overrides, e.g. for a longer soak); at least MinTrials run regardless.
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("HYPERSHARP_CRASH_SECONDS"), out int s) ? s : 150);
    private const int MaxTrials = 1000, MinTrials = 100;

    private static string WriterPath()
    {
        string dir = AppContext.BaseDirectory;
        string host = Path.Combine(dir, "HyperSharp.Vhdx.CrashWriter");
        if (File.Exists(host)) return host;
        throw new FileNotFoundException($"the crash writer is not next to the tests ({host}); build HyperSharp.slnx first");
    }

    [Fact]
    public void KilledWriterLosesNoAcknowledgedWrite()
    {
        bool qemu = PeerTools.Available(output);
        using var dir = new TempDir();
        string writer = WriterPath();
        var seedSource = new Random(20261127);
        var total = Stopwatch.StartNew();
        int trials = 0, pendingLogs = 0, qemuChecks = 0;
        long acknowledgedOps = 0, maybeOps = 0;
        TimeSpan writerTime = TimeSpan.Zero, verifyTime = TimeSpan.Zero, qemuTime = TimeSpan.Zero;
        long[] baseline = [];
        string image = dir.File("crash.vhdx"), journal = dir.File("journal.bin"), parentImage = dir.File("parent.vhdx");
        bool differencing = false;
        int differencingImages = 0;
        int sector = 512, block = (int)MiB;
        long capacity = 0;

        while (trials < MaxTrials && (total.Elapsed < Budget || trials < MinTrials))
        {
            if (trials % TrialsPerImage == 0)
            {
                int imageNo = trials / TrialsPerImage;
                sector = imageNo % 5 == 4 ? 4096 : 512;
                block = imageNo % 3 == 2 ? 2 * (int)MiB : (int)MiB;
                capacity = (imageNo % 2 == 0 ? 64 : 96) * MiB;
                File.Delete(image);
                differencing = imageNo % 3 == 1;
                baseline = new long[capacity / sector];
                if (differencing)
                {
                    // A child over a parent whose every sector holds generation 1: partially present
                    // blocks, sector bitmaps through the log, unmaps that must hide the parent.
                    File.Delete(parentImage);
                    using (var parent = VirtualDisk.Create(parentImage, new DiskCreateOptions { Capacity = capacity, BlockSize = 4 * (int)MiB, LogicalSectorSize = sector }))
                    {
                        var chunk = new byte[4 * MiB];
                        for (long at = 0; at < capacity; at += chunk.Length)
                        {
                            CrashWorkload.Fill(chunk, at, sector, 1);
                            parent.Write(at, chunk);
                        }
                    }
                    using (VirtualDisk.Create(image, new DiskCreateOptions { Type = DiskType.Differencing, ParentPath = parentImage, BlockSize = block })) { }
                    Array.Fill(baseline, 1L);
                    differencingImages++;
                }
                else
                    using (VirtualDisk.Create(image, new DiskCreateOptions { Capacity = capacity, BlockSize = block, LogicalSectorSize = sector })) { }
            }
            ulong seed = (ulong)seedSource.NextInt64();
            long generationBase = (trials + 1) * 10_000_000L;
            int flushEvery = 1 + seedSource.Next(24);
            int unmapPercent = seedSource.Next(3) * 8;
            int killAfterMs = seedSource.Next(4) == 0 ? seedSource.Next(5) : seedSource.Next(10, 350);
            string context = $"trial {trials} (seed {seed}, flushEvery {flushEvery}, unmap {unmapPercent}%, kill after {killAfterMs} ms, {sector}-byte sectors, {block >> 20} MiB blocks{(differencing ? ", differencing" : "")})";

            var t0 = Stopwatch.StartNew();
            RunAndKill(writer, [image, journal, seed.ToString(), generationBase.ToString(), flushEvery.ToString(), unmapPercent.ToString()], killAfterMs, context);
            writerTime += t0.Elapsed;

            // What the writer acknowledged: the last complete journal record.
            var records = File.ReadAllBytes(journal);
            long acknowledged = records.Length >= 8 ? BinaryPrimitives.ReadInt64LittleEndian(records.AsSpan(records.Length / 8 * 8 - 8)) : 0;
            long mayHaveIssued = acknowledged + flushEvery; // it flushes every flushEvery operations
            acknowledgedOps += acknowledged;
            maybeOps += flushEvery;

            // The expected state: baseline + acknowledged operations; the allowed alternatives: later operations.
            var expected = (long[])baseline.Clone();
            var alternatives = new Dictionary<long, List<long>>();
            var workload = new CrashWorkload(seed, capacity, sector, block, generationBase, unmapPercent);
            for (long i = 1; i <= mayHaveIssued; i++)
            {
                var op = workload.Next();
                for (long s = op.Offset / sector; s < (op.Offset + op.Length) / sector; s++)
                {
                    if (i <= acknowledged) expected[s] = op.Generation;
                    else
                    {
                        if (!alternatives.TryGetValue(s, out var list)) alternatives[s] = list = [];
                        list.Add(op.Generation);
                    }
                }
            }

            t0.Restart();
            var before = File.ReadAllBytes(image);
            long[] readOnlyState;
            using (var disk = VhdxDisk.Open(image, DiskOpenOptions.ReadOnlyDefault))
            {
                if (disk.ReplayedLog) pendingLogs++;
                readOnlyState = VerifyImage(disk, expected, alternatives, context + ", read-only open");
            }
            var after = File.ReadAllBytes(image);
            Assert.True(before.AsSpan().SequenceEqual(after), $"{context}: a read-only open changed the file (first difference at byte {PeerTools.FirstDifference(before, after)})");

            long[] writableState;
            using (var disk = VhdxDisk.Open(image))
            {
                Assert.Equal(differencing ? DiskType.Differencing : DiskType.Dynamic, disk.Type);
                writableState = VerifyImage(disk, expected, alternatives, context + ", writable open");
            }
            for (long s = 0; s < readOnlyState.Length; s++)
                Assert.True(readOnlyState[s] == writableState[s],
                    $"{context}: sector {s} reads generation {readOnlyState[s]} after the in-memory replay but {writableState[s]} after the replay into the file");
            verifyTime += t0.Elapsed;

            if (qemu && sector == 512 && !differencing) // qemu can read neither 4096-byte sectors nor differencing VHDX
            {
                t0.Restart();
                var r = PeerTools.QemuImgRun("check", "-f", "vhdx", image);
                Assert.True(r.ExitCode == 0, $"{context}: qemu-img check is not clean: {r}");
                qemuChecks++;
                qemuTime += t0.Elapsed;
            }
            baseline = writableState;
            trials++;
        }
        string summary = $"crash trials: {trials} in {total.Elapsed.TotalSeconds:F1} s (writer {writerTime.TotalSeconds:F1} s, verify {verifyTime.TotalSeconds:F1} s, " +
            $"qemu-img check {qemuTime.TotalSeconds:F1} s); {differencingImages} of the images differencing; {pendingLogs} opened with a pending log; {acknowledgedOps} acknowledged operations verified, " +
            $"{qemuChecks} qemu-img checks clean";
        output.WriteLine(summary);
        Console.WriteLine(summary);
        Assert.True(trials >= MinTrials);
        Assert.True(pendingLogs > trials / 4, $"only {pendingLogs} of {trials} trials left a pending log: the kills are not landing inside the writer's work");
    }

    /// <summary>
    /// Online grow under SIGKILL: each trial's writer grows the disk step by step (moving the BAT when
    /// it outgrows its region), writing a marker below each new end and flushing. After the kill the
    /// capacity must be the last acknowledged one or the next, every acknowledged marker must be
    /// there, a read-only open must not write, and `qemu-img check` must be clean.
    /// </summary>
    [Fact]
    public void KilledWriterDuringOnlineGrowKeepsAcknowledgedSizeAndData()
    {
        bool qemu = PeerTools.Available(output);
        using var dir = new TempDir();
        string writer = WriterPath();
        string image = dir.File("grow.vhdx"), journal = dir.File("journal.bin");
        var seeds = new Random(777);
        var total = Stopwatch.StartNew();
        int trials = 0, relocations = 0;
        long maxCapacity = 0;
        while (trials < 60 && (total.Elapsed < TimeSpan.FromSeconds(30) || trials < 20))
        {
            if (trials % 3 == 0)
            {
                File.Delete(image);
                using (VirtualDisk.Create(image, new DiskCreateOptions { Capacity = 120L << 30, BlockSize = (int)MiB })) { }
            }
            long start;
            using (var d = VirtualDisk.Open(image, DiskOpenOptions.ReadOnlyDefault)) start = d.Capacity;
            ulong seed = (ulong)seeds.NextInt64();
            int killAfterMs = seeds.Next(5, 400);
            string context = $"grow trial {trials} (seed {seed}, kill after {killAfterMs} ms, start {start})";
            RunAndKill(writer, [image, journal, "resize", seed.ToString()], killAfterMs, context);
            var records = File.ReadAllBytes(journal);
            long acknowledged = records.Length >= 8 ? BinaryPrimitives.ReadInt64LittleEndian(records.AsSpan(records.Length / 8 * 8 - 8)) : 0;

            var before = PeerTools.Sha256(image);
            using (var disk = VhdxDisk.Open(image, DiskOpenOptions.ReadOnlyDefault))
                CheckGrow(disk, seed, start, acknowledged, context + ", read-only");
            Assert.True(before == PeerTools.Sha256(image), $"{context}: a read-only open changed the file");
            using (var disk = VhdxDisk.Open(image))
            {
                CheckGrow(disk, seed, start, acknowledged, context + ", writable");
                maxCapacity = Math.Max(maxCapacity, disk.Capacity);
            }
            var regions = ImageSurgery.Read(image, HyperSharp.Vhdx.Vhdx.VhdxFormat.RegionTable1Offset, 64 * 1024);
            if (BinaryPrimitives.ReadInt64LittleEndian(regions.AsSpan(16 + 16)) != ImageSurgery.BatOffset
                && BinaryPrimitives.ReadInt64LittleEndian(regions.AsSpan(48 + 16)) != ImageSurgery.BatOffset) relocations++;
            if (qemu)
            {
                var r = PeerTools.QemuImgRun("check", "-f", "vhdx", image);
                Assert.True(r.ExitCode == 0, $"{context}: qemu-img check is not clean: {r}");
            }
            trials++;
        }
        string summary = $"grow crash trials: {trials} in {total.Elapsed.TotalSeconds:F1} s; largest capacity {maxCapacity >> 30} GiB; " +
            $"{relocations} trials ended with the BAT moved from its original region";
        output.WriteLine(summary);
        Console.WriteLine(summary);
        Assert.True(relocations > 0, "no trial grew far enough to move the BAT");
    }

    private static void CheckGrow(IVirtualDisk disk, ulong seed, long start, long acknowledged, string context)
    {
        long expected = ResizeWorkload.CapacityAfter(seed, start, acknowledged), next = ResizeWorkload.CapacityAfter(seed, start, acknowledged + 1);
        Assert.True(disk.Capacity == expected || disk.Capacity == next,
            $"{context}: capacity {disk.Capacity}, expected the acknowledged {expected} or the next {next}");
        var buffer = new byte[ResizeWorkload.Marker];
        var scratch = new byte[disk.LogicalSectorSize];
        for (long n = 1; n <= acknowledged + 1; n++)
        {
            long capacity = ResizeWorkload.CapacityAfter(seed, start, n);
            if (capacity > disk.Capacity) break;
            disk.Read(capacity - buffer.Length, buffer);
            for (int i = 0; i < buffer.Length; i += scratch.Length)
            {
                long g = CrashWorkload.Decode(buffer.AsSpan(i, scratch.Length), (capacity - buffer.Length + i) / scratch.Length, scratch);
                if (n <= acknowledged)
                    Assert.True(g == n, $"{context}: the acknowledged marker of grow {n} (at {capacity - buffer.Length}) reads generation {g} at +{i}");
                else
                    Assert.True(g == n || g == 0, $"{context}: the unacknowledged marker of grow {n} reads generation {g} at +{i}");
            }
        }
    }

    /// <summary>Reads every sector and checks it against the expected generation or a later one that may have landed.</summary>
    private static long[] VerifyImage(IVirtualDisk disk, long[] expected, Dictionary<long, List<long>> alternatives, string context)
    {
        int sector = disk.LogicalSectorSize;
        var state = new long[expected.Length];
        var buffer = new byte[4 * MiB];
        var scratch = new byte[sector];
        for (long at = 0; at < disk.Capacity; at += buffer.Length)
        {
            int n = (int)Math.Min(buffer.Length, disk.Capacity - at);
            disk.Read(at, buffer.AsSpan(0, n));
            for (int i = 0; i < n; i += sector)
            {
                long s = (at + i) / sector;
                long g = CrashWorkload.Decode(buffer.AsSpan(i, sector), s, scratch);
                state[s] = g;
                if (g == expected[s]) continue;
                alternatives.TryGetValue(s, out var later);
                if (g >= 0 && later is not null && later.Contains(g)) continue;
                Assert.Fail($"{context}: sector {s} (byte {s * sector}) holds {(g < 0 ? "garbage" : $"generation {g}")}, " +
                    $"expected the acknowledged generation {expected[s]}{(later is null ? "" : $" or one of the later {string.Join(",", later)}")}");
            }
        }
        return state;
    }

    /// <summary>
    /// Lets the writer work for <paramref name="workMs"/> ms of its own processor time. Counted in wall time, a kill on
    /// a loaded machine lands before the writer has done anything (it waits for a processor); in processor time it
    /// lands at the same point of the work on any machine. Bounded in wall time for a writer blocked on the disk.
    /// </summary>
    private static void WaitForWork(Process writer, int workMs)
    {
        if (workMs <= 0) return;
        var start = writer.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        while (!writer.HasExited && wall.ElapsedMilliseconds < 30_000)
        {
            try
            {
                writer.Refresh();
                if ((writer.TotalProcessorTime - start).TotalMilliseconds >= workMs) return;
            }
            catch (InvalidOperationException) { return; } // it ended between the check and the read
            Thread.Sleep(1);
        }
    }

    /// <summary>Starts the writer, waits for "ready", lets it work <paramref name="killAfterMs"/> ms of processor time, then SIGKILLs it by its own PID.</summary>
    private static void RunAndKill(string exe, string[] args, int killAfterMs, string context)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start the crash writer");
        try
        {
            var stderr = p.StandardError.ReadToEndAsync();
            var ready = p.StandardOutput.ReadLineAsync();
            if (!ready.Wait(TimeSpan.FromSeconds(30)) || ready.Result != "ready")
            {
                p.Kill();
                p.WaitForExit();
                Assert.Fail($"{context}: the writer did not start (stdout '{(ready.IsCompleted ? ready.Result : "")}', stderr {stderr.Result})");
            }
            WaitForWork(p, killAfterMs);
            if (p.HasExited) Assert.Fail($"{context}: the writer died on its own (exit {p.ExitCode}): {stderr.Result}");
        }
        finally
        {
            if (!p.HasExited)
            {
                p.Kill(); // SIGKILL to this child only, by its PID
                p.WaitForExit();
            }
        }
    }
}
