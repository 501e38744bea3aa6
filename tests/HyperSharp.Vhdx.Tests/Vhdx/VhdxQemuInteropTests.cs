using HyperSharp.Vhdx.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Vhdx.Tests.Vhdx;

/// <summary>
/// Interop with a peer nobody here wrote: QEMU's qemu-img and qemu-io (Debian qemu-utils).
/// Direction 1: images qemu creates and fills read back through our library byte-identical to
/// `qemu-img convert -O raw`. Direction 2: images our library creates and writes pass
/// `qemu-img check` and `qemu-img compare` against the raw data the test itself wrote.
///
/// Peer gaps, documented here: qemu-img 7.2 has no option for the logical sector size (its VHDX
/// images are always 512-byte logical sectors) and its driver refuses to open images with 4096-byte
/// logical sectors ("Operation not supported"): those are checked against the test's own raw
/// reference only (see <see cref="PeerTools.CanCheck"/>). qemu cannot create or read differencing VHDX at all, so chains are
/// tested against our own raw reference in <see cref="VhdxDifferencingChainTests"/>.
/// </summary>
public class VhdxQemuInteropTests(ITestOutputHelper output)
{
    private const long MiB = 1 << 20;

    // ---------- Direction 1: qemu creates and writes, we read ----------

    [Theory]
    [InlineData("dynamic", "1M")]
    [InlineData("dynamic", "8M")]
    [InlineData("dynamic", "32M")]
    [InlineData("fixed", "1M")]
    [InlineData("fixed", "8M")]
    [InlineData("fixed", "32M")]
    public void QemuCreatedImageReadsBackIdenticalToQemuConvert(string subformat, string blockSize)
    {
        if (!PeerTools.Available(output)) return;
        using var dir = new TempDir();
        string image = dir.File("q.vhdx"), raw = dir.File("q.raw");
        // 70 MiB + 3 sectors: the last block is partial for every block size.
        long size = 70 * MiB + 1536;
        PeerTools.QemuImgOk("create", "-q", "-f", "vhdx", "-o", $"subformat={subformat},block_size={blockSize},log_size=1M", image, size.ToString());
        PeerTools.QemuIo(image,
            "write -P 0x5a 3M 64k",
            "write -P 0x11 17M 1M",
            "write -P 0x22 1023k 2k",          // crosses a 1 MiB block boundary
            "write -P 0x33 31M 2M",            // crosses the 32 MiB boundary
            "write -P 0x44 0 512",             // first sector
            "write -P 0x55 7M 8M",             // crosses 8 MiB, several 1 MiB blocks
            $"write -P 0x66 {size - 1536} 1536", // last sectors of the partial last block
            "write -z 17M 512k",               // zero the front half of the 0x11 run
            "discard 40M 8M",
            "write -P 0x77 41M 4k");           // data inside the discarded range
        AssertOursMatchesQemuConvert(image, raw, size);
    }

    [Theory]
    [InlineData("dynamic", "1M")]
    [InlineData("fixed", "8M")]
    [InlineData("dynamic", "32M")]
    public void QemuConvertedRandomDataReadsBackIdentical(string subformat, string blockSize)
    {
        if (!PeerTools.Available(output)) return;
        using var dir = new TempDir();
        string source = dir.File("src.raw"), image = dir.File("q.vhdx");
        // Mixed content: random blocks, zero blocks, and blocks with a few non-zero bytes.
        var data = new byte[48 * MiB];
        var rng = new Random(4242);
        for (long b = 0; b < data.Length / MiB; b++)
        {
            var block = data.AsSpan((int)(b * MiB), (int)MiB);
            switch (b % 4)
            {
                case 0: rng.NextBytes(block); break;
                case 1: break;
                case 2: block[rng.Next((int)MiB)] = 1; break;
                case 3: rng.NextBytes(block[..4096]); break;
            }
        }
        File.WriteAllBytes(source, data);
        PeerTools.QemuImgOk("convert", "-f", "raw", "-O", "vhdx", "-o", $"subformat={subformat},block_size={blockSize}", source, image);
        using var disk = VirtualDisk.Open(image, DiskOpenOptions.ReadOnlyDefault);
        Assert.Equal(DiskFormat.Vhdx, disk.Format);
        Assert.Equal(data.Length, disk.Capacity);
        PeerTools.AssertSameBytes(data, PeerTools.ReadAll(disk), $"qemu-img convert {subformat} {blockSize} read through ours");
    }

    /// <summary>Our image, then written by qemu-io (qemu replays/uses its log), then read by us again.</summary>
    [Fact]
    public void OurImageWrittenByQemuReadsBackThroughOurs()
    {
        if (!PeerTools.Available(output)) return;
        using var dir = new TempDir();
        string image = dir.File("o.vhdx"), raw = dir.File("o.raw");
        long size = 33 * MiB;
        using (var disk = VirtualDisk.Create(image, new DiskCreateOptions { Capacity = size, BlockSize = (int)MiB }))
        {
            var data = new byte[3 * MiB];
            new Random(7).NextBytes(data);
            disk.Write(5 * MiB + 512, data);
            disk.Unmap(6 * MiB, MiB);
        }
        PeerTools.QemuIo(image, "write -P 0x99 5M 64k", "write -P 0xab 20M 3M", "write -z 7M 4k");
        PeerTools.AssertCheckClean(image);
        AssertOursMatchesQemuConvert(image, raw, size);
        // And we can keep writing to an image qemu last wrote.
        using (var disk = VirtualDisk.Open(image))
            disk.Write(21 * MiB + 100, new byte[] { 1, 2, 3 });
        PeerTools.AssertCheckClean(image);
        AssertOursMatchesQemuConvert(image, raw, size);
    }

    /// <summary>
    /// Our write-ahead log, replayed by the peer: an image left with a pending log (flushed, never
    /// closed, copied by a process that takes no lock) is opened by qemu (which replays the log on a
    /// writable open) and must then match the data we wrote. (The other direction, replaying a log
    /// qemu left, cannot be set up: qemu clears its log after every metadata update, so even a SIGKILL
    /// leaves none; our replay is covered by the crash test and the hostile-log tests.)
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    public void QemuReplaysOurPendingLog(int blockMiB)
    {
        if (!PeerTools.Available(output)) return;
        using var dir = new TempDir();
        string image = dir.File("o.vhdx"), copy = dir.File("copy.vhdx"), reference = dir.File("reference.raw");
        long size = 48 * MiB;
        var rng = new Random(blockMiB);
        var model = new byte[size];
        int w = 0, u = 0, f = 0;
        using (var disk = VirtualDisk.Create(image, new DiskCreateOptions { Capacity = size, BlockSize = blockMiB * (int)MiB }))
        {
            RandomOps(disk, ref model, rng, 80, ref w, ref u, ref f);
            disk.Flush();
            var r = PeerTools.Run("/bin/cp", [image, copy]);
            Assert.True(r.ExitCode == 0, r.ToString());
        }
        Assert.NotEqual(Guid.Empty, ImageSurgery.CurrentHeader(copy).LogGuid);
        File.WriteAllBytes(reference, model);
        // qemu refuses a read-only open that needs a replay; `check -r all` opens writable and replays.
        var check = PeerTools.QemuImgRun("check", "-r", "all", "-f", "vhdx", copy);
        output.WriteLine($"qemu-img check -r all: exit {check.ExitCode} {check.Stdout.Trim()} {check.Stderr.Trim()}");
        Assert.True(check.ExitCode == 0, check.ToString());
        // qemu counts a log replayed on open as one corruption fixed (vhdx_co_check: log_replayed_on_open).
        Assert.Contains("1 corruptions", check.Stdout);
        Assert.Equal(Guid.Empty, ImageSurgery.CurrentHeader(copy).LogGuid);
        PeerTools.AssertCheckClean(copy);
        PeerTools.AssertCompareIdentical(copy, reference);
    }

    /// <summary>
    /// A qemu image (ZERO-state blocks from `write -z`, discarded ranges, data) modified by our
    /// random writes, unmaps and a grow, then handed back to qemu: check clean, compare identical.
    /// </summary>
    [Theory]
    [InlineData("dynamic", "1M")]
    [InlineData("dynamic", "8M")]
    [InlineData("fixed", "1M")]
    public void QemuImageModifiedByOursPassesQemuCheckAndCompare(string subformat, string blockSize)
    {
        if (!PeerTools.Available(output)) return;
        using var dir = new TempDir();
        string image = dir.File("q.vhdx"), raw = dir.File("q.raw");
        long size = 40 * MiB;
        PeerTools.QemuImgOk("create", "-q", "-f", "vhdx", "-o", $"subformat={subformat},block_size={blockSize}", image, size.ToString());
        PeerTools.QemuIo(image, "write -P 0x21 0 5M", "write -z 1M 2M", "write -P 0x22 9M 3M", "discard 16M 8M", "write -z 30M 8M", "write -P 0x23 39M 1M");
        PeerTools.QemuImgOk("convert", "-f", "vhdx", "-O", "raw", image, raw);
        var model = File.ReadAllBytes(raw);
        var rng = new Random(subformat.Length * 31 + blockSize.Length);
        int w = 0, u = 0, f = 0;
        using (var disk = VirtualDisk.Open(image))
        {
            disk.Write(1 * MiB + 4096, model.AsSpan(0, 4096)); // into a ZERO-state block
            model.AsSpan(0, 4096).CopyTo(model.AsSpan((int)(MiB + 4096)));
            RandomOps(disk, ref model, rng, 100, ref w, ref u, ref f);
            disk.Resize(size + 8 * MiB);
            Array.Resize(ref model, (int)(size + 8 * MiB));
            RandomOps(disk, ref model, rng, 30, ref w, ref u, ref f);
        }
        File.WriteAllBytes(raw, model);
        PeerTools.AssertCheckClean(image);
        PeerTools.AssertCompareIdentical(image, raw);
    }

    private void AssertOursMatchesQemuConvert(string image, string raw, long size)
    {
        File.Delete(raw);
        PeerTools.QemuImgOk("convert", "-f", "vhdx", "-O", "raw", image, raw);
        var expected = File.ReadAllBytes(raw);
        Assert.Equal(size, expected.Length);
        string before = PeerTools.Sha256(image);
        using (var disk = VirtualDisk.Open(image, DiskOpenOptions.ReadOnlyDefault))
        {
            Assert.Equal(size, disk.Capacity);
            Assert.Equal(512, disk.LogicalSectorSize);
            PeerTools.AssertSameBytes(expected, PeerTools.ReadAll(disk), $"{Path.GetFileName(image)} read through ours vs qemu-img convert");
            // Unaligned reads too.
            var rng = new Random(1);
            for (int i = 0; i < 200; i++)
            {
                long at = rng.NextInt64(size);
                int n = (int)Math.Min(size - at, rng.Next(1, 200_000));
                var part = new byte[n];
                disk.Read(at, part);
                PeerTools.AssertSameBytes(expected.AsSpan((int)at, n), part, $"unaligned read at {at} of {n}");
            }
        }
        Assert.Equal(before, PeerTools.Sha256(image)); // a read-only open never writes
    }

    // ---------- Direction 2: we create and write, qemu checks and compares ----------

    [Theory]
    [InlineData(DiskType.Dynamic, 1, 512)]
    [InlineData(DiskType.Dynamic, 1, 4096)]
    [InlineData(DiskType.Dynamic, 8, 512)]
    [InlineData(DiskType.Dynamic, 32, 4096)]
    [InlineData(DiskType.Fixed, 1, 512)]
    [InlineData(DiskType.Fixed, 8, 4096)]
    [InlineData(DiskType.Fixed, 32, 512)]
    public void OurImagePassesQemuCheckAndCompare(DiskType type, int blockMiB, int sector)
    {
        using var dir = new TempDir();
        string image = dir.File("o.vhdx"), reference = dir.File("reference.raw");
        long size = 37 * MiB + 3 * 4096; // the last block is partial
        var rng = new Random(blockMiB * 1000 + sector + (int)type);
        var model = new byte[size];
        int writes = 0, unmaps = 0, flushes = 0;
        using (var disk = VirtualDisk.Create(image, new DiskCreateOptions
               { Type = type, Capacity = size, BlockSize = blockMiB * (int)MiB, LogicalSectorSize = sector }))
        {
            Assert.Equal(sector, disk.LogicalSectorSize);
            RandomOps(disk, ref model, rng, 120, ref writes, ref unmaps, ref flushes);
            // Online grow with I/O before and after, then more random operations over the new space.
            long grown = size + 23 * MiB + 4096;
            disk.Resize(grown);
            Array.Resize(ref model, (int)grown);
            Assert.Equal(grown, disk.Capacity);
            RandomOps(disk, ref model, rng, 60, ref writes, ref unmaps, ref flushes);
        }
        output.WriteLine($"{type} {blockMiB} MiB blocks, {sector}-byte sectors: {writes} writes, {unmaps} unmaps, {flushes} flushes, one grow");
        File.WriteAllBytes(reference, model);
        using (var disk = VirtualDisk.Open(image, DiskOpenOptions.ReadOnlyDefault))
            PeerTools.AssertSameBytes(model, PeerTools.ReadAll(disk), "reopened through ours");
        if (!PeerTools.CanCheck(output, image, sector)) return;
        PeerTools.AssertCheckClean(image);
        PeerTools.AssertCompareIdentical(image, reference);
        var info = PeerTools.QemuImgOk("info", "--output=json", image);
        Assert.Contains($"\"virtual-size\": {model.Length}", info);
    }

    [Theory]
    [InlineData(DiskType.Dynamic, 512)]
    [InlineData(DiskType.Dynamic, 4096)]
    [InlineData(DiskType.Fixed, 512)]
    public void OurShrunkAndRegrownImagePassesQemuCheckAndCompare(DiskType type, int sector)
    {
        using var dir = new TempDir();
        string image = dir.File("o.vhdx"), reference = dir.File("reference.raw");
        long size = 40 * MiB;
        var rng = new Random(99 + sector);
        var model = new byte[size];
        int w = 0, u = 0, f = 0;
        using (var disk = VirtualDisk.Create(image, new DiskCreateOptions { Type = type, Capacity = size, BlockSize = (int)MiB, LogicalSectorSize = sector }))
        {
            RandomOps(disk, ref model, rng, 80, ref w, ref u, ref f);
            // Shrinking over data refuses without permission.
            Assert.Throws<VirtualDiskException>(() => disk.Resize(10 * MiB));
            long small = 10 * MiB + 3 * 4096;
            disk.Resize(small, allowDataLoss: true);
            Array.Resize(ref model, (int)small);
            RandomOps(disk, ref model, rng, 30, ref w, ref u, ref f);
            disk.Resize(30 * MiB); // the space that was cut must read as zeros again
            Array.Resize(ref model, (int)(30 * MiB));
            PeerTools.AssertSameBytes(model, PeerTools.ReadAll(disk), "after shrink and regrow, same session");
            RandomOps(disk, ref model, rng, 30, ref w, ref u, ref f);
        }
        File.WriteAllBytes(reference, model);
        using (var disk = VirtualDisk.Open(image, DiskOpenOptions.ReadOnlyDefault))
            PeerTools.AssertSameBytes(model, PeerTools.ReadAll(disk), "reopened through ours");
        if (!PeerTools.CanCheck(output, image, sector)) return;
        PeerTools.AssertCheckClean(image);
        PeerTools.AssertCompareIdentical(image, reference);
    }

    /// <summary>Growing past what the BAT region holds moves the BAT; qemu must follow the new region table.</summary>
    [Fact]
    public void GrowThatRelocatesTheBatPassesQemuCheck()
    {
        if (!PeerTools.Available(output)) return;
        using var dir = new TempDir();
        string image = dir.File("big.vhdx");
        // 1 MiB blocks: the 1 MiB BAT region holds ~128 GiB; grow to 160 GiB (sparse, nothing read in bulk).
        using (var disk = VirtualDisk.Create(image, new DiskCreateOptions { Capacity = 1L << 30, BlockSize = (int)MiB }))
        {
            disk.Write(5 * MiB, Fill(64 * 1024, 0x31));
            disk.Resize(160L << 30);
            disk.Write((150L << 30) + 4096, Fill(64 * 1024, 0x32));
            disk.Write((160L << 30) - 65536, Fill(65536, 0x33));
        }
        PeerTools.AssertCheckClean(image);
        PeerTools.QemuIo(image, "read -P 0x31 5M 64k", "read -P 0x32 157286404k 64k", "read -P 0 157286400k 4k",
            "read -P 0x33 167772096k 64k", "read -P 0 6M 1M", "read -P 0 100G 1M");
        using var reopened = VirtualDisk.Open(image, DiskOpenOptions.ReadOnlyDefault);
        Assert.Equal(160L << 30, reopened.Capacity);
        var back = new byte[65536];
        reopened.Read((150L << 30) + 4096, back);
        Assert.All(back, b => Assert.Equal(0x32, b));
    }

    private static byte[] Fill(int n, byte value)
    {
        var b = new byte[n];
        Array.Fill(b, value);
        return b;
    }

    /// <summary>Random writes (any alignment and length), unmaps (block-aligned and not) and flushes, mirrored in <paramref name="model"/>.</summary>
    internal static void RandomOps(IVirtualDisk disk, ref byte[] model, Random rng, int count, ref int writes, ref int unmaps, ref int flushes)
    {
        long size = model.Length;
        for (int i = 0; i < count; i++)
        {
            int kind = rng.Next(10);
            if (kind < 7)
            {
                bool aligned = rng.Next(2) == 0;
                long at = rng.NextInt64(size);
                int n = rng.Next(3) == 0 ? rng.Next(1, 3 * (int)MiB) : rng.Next(1, 70_000);
                if (aligned) { at = at / disk.LogicalSectorSize * disk.LogicalSectorSize; n = Math.Max(1, n / disk.LogicalSectorSize) * disk.LogicalSectorSize; }
                n = (int)Math.Min(n, size - at);
                if (n == 0) continue;
                var data = new byte[n];
                rng.NextBytes(data);
                if (rng.Next(4) == 0) data.AsSpan(0, n / 2).Clear(); // some zero runs inside data
                disk.Write(at, data);
                data.CopyTo(model, at);
                writes++;
            }
            else if (kind < 9)
            {
                long at, n;
                if (rng.Next(2) == 0)
                {
                    long block = disk is VhdxDisk v ? v.BlockSize : MiB;
                    at = rng.NextInt64(size / block + 1) * block;
                    n = block * rng.Next(1, 4);
                }
                else { at = rng.NextInt64(size); n = rng.Next(1, 3 * (int)MiB); }
                at = Math.Min(at, size);
                n = Math.Min(n, size - at);
                disk.Unmap(at, n);
                model.AsSpan((int)at, (int)n).Clear();
                unmaps++;
            }
            else { disk.Flush(); flushes++; }
        }
    }
}
