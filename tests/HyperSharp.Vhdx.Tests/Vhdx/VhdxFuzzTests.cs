using System.Buffers.Binary;
using System.Diagnostics;
using HyperSharp.Vhdx.Vhdx;
using Xunit.Abstractions;
using static HyperSharp.Vhdx.Tests.Vhdx.ImageSurgery;

namespace HyperSharp.Vhdx.Tests.Vhdx;

/// <summary>
/// Mutation fuzzing of small valid images: a dynamic image (512- and 4096-byte sectors), a
/// differencing child next to its intact parent (and sometimes the parent mutated instead), and an
/// image with a pending log written by the engine itself. Mutations: bit flips, byte and integer
/// sets with boundary values, chunk zeroing, truncation and extension, aimed mostly at the
/// structures; half the time the header, region-table and log-entry checksums are re-stamped so
/// the damage reaches the validators behind them. Each case is opened read-only and the whole disk
/// read: it must work or throw a VirtualDiskException — any other exception, a hang, or a change to
/// the file fails. One case in eight also opens writable, writes, and reads the write back.
/// Seeded and reproducible: HYPERSHARP_FUZZ_SEED, HYPERSHARP_FUZZ_CASES and HYPERSHARP_FUZZ_FIRST (the
/// first case number, to rerun one reported case) override the defaults.
/// </summary>
public class VhdxFuzzTests(ITestOutputHelper output)
{
    private const int DefaultCases = 6000;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(55);

    private sealed record BaseImage(string Name, byte[] Bytes, string? ParentName, byte[]? ParentBytes, bool HasPendingLog);

    [Fact]
    public void MutatedImagesOpenOrFailCleanly()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("HYPERSHARP_FUZZ_SEED"), out int s) ? s : 0x5EED_0001;
        int cases = int.TryParse(Environment.GetEnvironmentVariable("HYPERSHARP_FUZZ_CASES"), out int c) ? c : DefaultCases;
        using var build = new TempDir();
        var bases = MakeBases(build);
        // Cases run in tmpfs when there is one: thousands of small files.
        string root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        string work = Path.Combine(root, "hs-fuzz-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(work);
        var failures = new List<string>();
        var outcomes = new Dictionary<string, int>();
        var total = Stopwatch.StartNew();
        int ran = 0, opened = 0, writable = 0;
        TimeSpan writeTime = default, runTime = default;
        var written = new HashSet<string>();
        var buffers = new Dictionary<string, byte[]>();
        try
        {
            int first = int.TryParse(Environment.GetEnvironmentVariable("HYPERSHARP_FUZZ_FIRST"), out int f) ? f : 0;
            for (int i = first; i < first + cases && total.Elapsed < Budget; i++, ran++)
            {
                var rng = new Random(HashCode.Combine(seed, i));
                var b = bases[rng.Next(bases.Count)];
                bool mutateParent = b.ParentBytes is not null && rng.Next(5) == 0;
                var original = mutateParent ? b.ParentBytes! : b.Bytes;
                // One working copy per file, mutated in place and restored afterwards (no 8 MiB copy per case).
                string key = b.Name + (mutateParent ? "/parent" : "");
                if (!buffers.TryGetValue(key, out var bytes)) buffers[key] = bytes = (byte[])original.Clone();
                int length = original.Length;
                var changed = new List<(long At, long Length)>();
                string what = Mutate(bytes, ref length, rng, restamp: rng.Next(2) == 0, changed);
                string caseName = $"seed {seed} case {i} ({b.Name}{(mutateParent ? ", parent mutated" : "")}: {what})";
                string path = Path.Combine(work, b.Name);
                string target = mutateParent ? Path.Combine(work, b.ParentName!) : path;
                var tw = Stopwatch.StartNew();
                // The work files hold the base images; only the mutated bytes are written, and put back afterwards.
                if (!written.Contains(b.Name))
                {
                    File.WriteAllBytes(path, b.Bytes);
                    if (b.ParentName is not null) File.WriteAllBytes(Path.Combine(work, b.ParentName), b.ParentBytes!);
                    written.Add(b.Name);
                }
                ApplyChanges(target, bytes, length, changed);
                writeTime += tw.Elapsed; tw.Restart();
                bool writableToo = rng.Next(8) == 0;
                var outcome = RunCase(path, target, bytes.AsMemory(0, length), writableToo, i % 64 == 0, rng, caseName, failures, ref writable);
                runTime += tw.Elapsed; tw.Restart();
                if (outcome == "opened") opened++;
                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
                if (writableToo)
                {
                    File.WriteAllBytes(path, b.Bytes);
                    if (b.ParentName is not null) File.WriteAllBytes(Path.Combine(work, b.ParentName), b.ParentBytes!);
                }
                else ApplyChanges(target, original, original.Length, changed);
                foreach (var (at, n) in changed)
                    if (at < original.Length) Array.Copy(original, at, bytes, at, Math.Min(n, original.Length - at));
                if (i % 256 == 0) // the harness itself: the working copies really are back to the base images
                {
                    Assert.True(bytes.AsSpan().SequenceEqual(original), $"fuzz harness: buffer {key} not restored after case {i}");
                    Assert.True(File.ReadAllBytes(target).AsSpan().SequenceEqual(original), $"fuzz harness: file {key} not restored after case {i}");
                }
                writeTime += tw.Elapsed;
                if (outcome == "HANG") break; // the stuck thread cannot be stopped; report what we have
            }
        }
        finally
        {
            try { Directory.Delete(work, true); } catch (IOException) { }
        }
        string summary = $"fuzz: seed {seed}, {ran} cases in {total.Elapsed.TotalSeconds:F1} s: {opened} opened and read fully, " +
            $"{writable} also written (files {writeTime.TotalSeconds:F1} s, cases {runTime.TotalSeconds:F1} s); refusals by structure: {string.Join(", ", outcomes.Where(o => o.Key != "opened").OrderByDescending(o => o.Value).Select(o => $"{o.Key} {o.Value}"))}";
        output.WriteLine(summary);
        Console.WriteLine(summary);
        foreach (var f in failures.Take(20)) output.WriteLine(f);
        Assert.True(failures.Count == 0, $"{failures.Count} of {ran} fuzz cases failed; first: {failures.FirstOrDefault()}");
        Assert.True(ran >= 1000 || cases < 1000, $"only {ran} cases ran in the time budget");
    }

    /// <summary>Runs one case; returns "opened", the refusing structure, or "HANG". Failures are recorded.</summary>
    private static string RunCase(string path, string mutatedPath, ReadOnlyMemory<byte> mutated, bool alsoWritable, bool compareInFull, Random rng, string caseName, List<string> failures, ref int writable)
    {
        var info = new FileInfo(mutatedPath);
        (long Length, DateTime Modified) before = (info.Length, info.LastWriteTimeUtc);
        Exception? caught = null;
        long capacity = 0;
        var task = Task.Run(() =>
        {
            try
            {
                using var disk = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault, DiskFormat.Vhdx);
                capacity = disk.Capacity;
                ReadDisk(disk);
            }
            catch (Exception e) { caught = e; }
        });
        if (!task.Wait(15_000)) { failures.Add($"{caseName}: HANG (read-only open and read still running after 15 s)"); return "HANG"; }
        // Any write changes the length or the modification time; every 64th case also compares every byte.
        info.Refresh();
        if (info.Length != before.Length || info.LastWriteTimeUtc != before.Modified || compareInFull)
        {
            var now = File.ReadAllBytes(mutatedPath);
            long d = PeerTools.FirstDifference(mutated.Span, now);
            if (d >= 0 || info.Length != before.Length)
                failures.Add($"{caseName}: the read-only open changed the file (length {before.Length} -> {info.Length}, " +
                    $"mtime {before.Modified:O} -> {info.LastWriteTimeUtc:O}, first differing byte {d})");
        }
        if (caught is not null)
        {
            if (caught is CorruptImageException cie) return Bucket(cie.Structure);
            if (caught is VirtualDiskException) return "other VirtualDiskException";
            failures.Add($"{caseName}: read-only open/read threw {caught.GetType().FullName}: {caught.Message}\n{caught.StackTrace}");
            return "WRONG EXCEPTION";
        }
        if (!alsoWritable || capacity < 4096) return "opened";

        // Writable: open (replaying into the file), write, close; a reopen must show the write.
        long at = rng.NextInt64(capacity / 4096) * 4096;
        var data = Pattern(4096, rng.Next());
        string stage = "writable open";
        var w = Task.Run(() =>
        {
            try
            {
                using (var disk = VirtualDisk.Open(path, DiskOpenOptions.Default, DiskFormat.Vhdx))
                {
                    stage = "write";
                    disk.Write(at, data);
                    stage = "flush";
                    disk.Flush();
                    stage = "close";
                }
                stage = "reopen";
                using var again = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault, DiskFormat.Vhdx);
                var back = new byte[4096];
                again.Read(at, back);
                if (!back.AsSpan().SequenceEqual(data)) throw new InvalidDataException($"the 4 KiB written at {at} did not read back after reopening");
                stage = "done";
            }
            catch (Exception e) { caught = e; }
        });
        if (!w.Wait(15_000)) { failures.Add($"{caseName}: HANG in the writable pass ({stage})"); return "HANG"; }
        if (caught is null) { writable++; return "opened"; }
        if (caught is VirtualDiskException && stage == "writable open") return "opened";
        failures.Add($"{caseName}: writable pass failed at '{stage}' with {caught.GetType().FullName}: {caught.Message}\n{caught.StackTrace}");
        return "WRONG EXCEPTION";
    }

    /// <summary>Writes the changed ranges of <paramref name="content"/> into the file and sets its length.</summary>
    private static void ApplyChanges(string path, byte[] content, int contentLength, List<(long At, long Length)> changed)
    {
        ReadOnlySpan<byte> bytes = content.AsSpan(0, contentLength);
        using var h = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        long oldLength = RandomAccess.GetLength(h);
        if (oldLength != bytes.Length) RandomAccess.SetLength(h, bytes.Length);
        if (bytes.Length > oldLength) RandomAccess.Write(h, bytes[(int)oldLength..], oldLength);
        foreach (var (at, length) in changed)
        {
            if (at >= Math.Min(bytes.Length, oldLength)) continue;
            int n = (int)Math.Min(length, Math.Min(bytes.Length, oldLength) - at);
            RandomAccess.Write(h, bytes.Slice((int)at, n), at);
        }
    }

    private static string Bucket(string structure) =>
        structure.StartsWith("BAT entry", StringComparison.Ordinal) ? "BAT entry"
        : structure.StartsWith("region table entry", StringComparison.Ordinal) ? "region table entry"
        : structure.StartsWith("metadata item", StringComparison.Ordinal) ? "metadata item"
        : structure.StartsWith("header ", StringComparison.Ordinal) ? "header" : structure;

    private static List<BaseImage> MakeBases(TempDir dir)
    {
        var list = new List<BaseImage>();
        string d512 = MakeDynamic(dir, "d512.vhdx");
        list.Add(new("dynamic512.vhdx", File.ReadAllBytes(d512), null, null, false));
        string d4k = MakeDynamic(dir, "d4k.vhdx", 4096);
        list.Add(new("dynamic4k.vhdx", File.ReadAllBytes(d4k), null, null, false));
        string parent = MakeDynamic(dir, "parent.vhdx");
        string child = MakeChild(dir, parent, "child.avhdx");
        list.Add(new("child.avhdx", File.ReadAllBytes(child), "parent.vhdx", File.ReadAllBytes(parent), false));

        // A pending log the engine wrote itself: flushed, not closed, copied by a process that takes no lock.
        string logged = dir.File("logged.vhdx"), copy = dir.File("logged-copy.vhdx");
        using (var disk = VirtualDisk.Create(logged, new DiskCreateOptions { Capacity = 16 * MiB, BlockSize = (int)MiB }))
        {
            disk.Write(MiB, Pattern(300_000 / 512 * 512, 9));
            disk.Unmap(MiB, 4096);
            disk.Write(9 * MiB + 512, Pattern(4096, 10));
            disk.Resize(20 * MiB);
            disk.Write(18 * MiB, Pattern(8192, 11));
            disk.Flush();
            var r = PeerTools.Run("/bin/cp", [logged, copy]);
            Assert.True(r.ExitCode == 0, r.ToString());
        }
        Assert.NotEqual(Guid.Empty, CurrentHeader(copy).LogGuid);
        list.Add(new("pending-log.vhdx", File.ReadAllBytes(copy), null, null, true));
        return list;
    }

    // Where the structures are (see ImageSurgery): mutations aim there most of the time.
    private static readonly (long Start, int Length, int Weight)[] Targets =
    [
        (0, 512, 2),                                                      // file identifier
        (VhdxFormat.Header1Offset, 128, 6), (VhdxFormat.Header2Offset, 128, 6),
        (VhdxFormat.RegionTable1Offset, 128, 6), (VhdxFormat.RegionTable2Offset, 128, 3),
        (LogOffset, 64 * 1024, 8),                                        // log entries
        (MetadataOffset, 256, 8),                                         // metadata table
        (MetadataOffset + 64 * 1024, 1024, 6),                            // metadata items, parent locator
        (BatOffset, 256, 8),                                              // BAT
        (PayloadOffset, 1 << 20, 2),                                      // a sector bitmap or payload
    ];

    private static readonly long[] Interesting =
    [
        0, 1, -1, 2, 3, 4, 6, 7, 0x7F, 0x80, 0xFF, 0x100, 0x200, 0x1000, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
        1 << 20, (1 << 20) + 1, 3 << 20, 1 << 28, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1L << 32, 1L << 40,
        64L << 40, (64L << 40) + (1 << 20), long.MaxValue, long.MinValue, 0x00100006, 0x00400006, 0x00300006,
    ];

    private static string Mutate(byte[] bytes, ref int length, Random rng, bool restamp, List<(long At, long Length)> changed)
    {
        var notes = new List<string>();
        int count = 1 + (rng.Next(4) == 0 ? rng.Next(8) : 0);
        for (int m = 0; m < count; m++)
        {
            long at = PickOffset(length, rng);
            switch (rng.Next(7))
            {
                case 0:
                case 1:
                    bytes[at] ^= (byte)(1 << rng.Next(8));
                    changed.Add((at, 1));
                    notes.Add($"flip bit at 0x{at:X}");
                    break;
                case 2:
                    bytes[at] = (byte)(rng.Next(2) == 0 ? Interesting[rng.Next(Interesting.Length)] : rng.Next(256));
                    changed.Add((at, 1));
                    notes.Add($"byte 0x{bytes[at]:X2} at 0x{at:X}");
                    break;
                case 3:
                {
                    long v = Interesting[rng.Next(Interesting.Length)];
                    int width = rng.Next(2) == 0 ? 4 : 8;
                    at = Math.Min(at & ~3L, length - width);
                    if (width == 4) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)at), (uint)v);
                    else BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan((int)at), v);
                    changed.Add((at, width));
                    notes.Add($"{width}-byte 0x{v:X} at 0x{at:X}");
                    break;
                }
                case 4:
                {
                    int n = (int)Math.Min(length - at, 1 + rng.Next(rng.Next(2) == 0 ? 64 : 65536));
                    bytes.AsSpan((int)at, n).Clear();
                    changed.Add((at, n));
                    notes.Add($"zero {n} bytes at 0x{at:X}");
                    break;
                }
                case 5:
                {
                    long len = rng.Next(3) == 0 ? rng.NextInt64(length) : Math.Max(0, length - 1 - rng.Next(3 << 20));
                    length = (int)len;
                    notes.Add($"truncate to {len}");
                    if (length == 0) return string.Join("; ", notes);
                    break;
                }
                case 6:
                {
                    int n = (int)Math.Min(length - at, 1 + rng.Next(4096));
                    rng.NextBytes(bytes.AsSpan((int)at, n));
                    changed.Add((at, n));
                    notes.Add($"random {n} bytes at 0x{at:X}");
                    break;
                }
            }
        }
        if (restamp) { Restamp(bytes, length, changed); notes.Add("checksums re-stamped"); }
        return string.Join("; ", notes);
    }

    private static long PickOffset(int length, Random rng)
    {
        if (rng.Next(6) == 0) return rng.NextInt64(length);
        int total = Targets.Sum(t => t.Weight), pick = rng.Next(total);
        foreach (var (start, len, weight) in Targets)
        {
            if ((pick -= weight) >= 0) continue;
            long at = start + rng.Next(len);
            return at < length ? at : rng.NextInt64(length);
        }
        return rng.NextInt64(length);
    }

    /// <summary>Re-stamps the CRC-32C of both headers, both region tables and the first log entry (when the bytes are there).</summary>
    private static void Restamp(byte[] bytes, int length, List<(long At, long Length)> changed)
    {
        foreach (long at in new[] { VhdxFormat.Header1Offset, VhdxFormat.Header2Offset, VhdxFormat.RegionTable1Offset, VhdxFormat.RegionTable2Offset, LogOffset })
            changed.Add((at, 8)); // the checksum fields at +4
        foreach (long at in new[] { VhdxFormat.Header1Offset, VhdxFormat.Header2Offset })
            if (length >= at + VhdxFormat.HeaderSize) Crc32C.Stamp(bytes.AsSpan((int)at, VhdxFormat.HeaderSize), 4);
        foreach (long at in new[] { VhdxFormat.RegionTable1Offset, VhdxFormat.RegionTable2Offset })
            if (length >= at + VhdxFormat.RegionTableSize) Crc32C.Stamp(bytes.AsSpan((int)at, VhdxFormat.RegionTableSize), 4);
        // Every log entry (sector-aligned 'loge' with a sane length that does not wrap): the active one is rarely the first.
        for (long p = LogOffset; p + 4096 <= Math.Min(length, 2 * MiB); p += 4096)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)p)) != VhdxFormat.LogEntrySignature) continue;
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)p + 8));
            if (len < 4096 || len % 4096 != 0 || p + len > Math.Min(length, 2 * MiB)) continue;
            Crc32C.Stamp(bytes.AsSpan((int)p, (int)len), 4);
            changed.Add((p, 8));
        }
    }
}
