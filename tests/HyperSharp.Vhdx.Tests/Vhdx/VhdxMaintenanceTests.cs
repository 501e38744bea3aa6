using System.Security.Cryptography;
using HyperSharp.Vhdx.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Vhdx.Tests.Vhdx;

/// <summary>Shrink, compaction, log replay after an unclean stop, and Test-VHD with repair.</summary>
public class VhdxMaintenanceTests(ITestOutputHelper output)
{
    private static byte[] Random(int length, int seed) { var b = new byte[length]; new Random(seed).NextBytes(b); return b; }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void ShrinkRefusesToDropDataUnlessAllowed()
    {
        using var dir = new TempDir();
        string path = dir.File("s.vhdx");
        using var disk = VhdxDisk.Create(path, new DiskCreateOptions { Capacity = 64 << 20, BlockSize = 1 << 20 });
        disk.Write(40 << 20, Random(4096, 1));
        var error = Assert.Throws<VirtualDiskException>(() => disk.Resize(32 << 20));
        Assert.Contains("41943040", error.Message); // names where the data is
        disk.Resize(48 << 20); // data below the new end: fine
        Assert.Equal(48 << 20, disk.Capacity);
        disk.Resize(16 << 20, allowDataLoss: true);
        Assert.Equal(16 << 20, disk.Capacity);
        Assert.Throws<ArgumentOutOfRangeException>(() => disk.Read(20 << 20, new byte[512]));
        disk.Resize(64 << 20);
        var back = new byte[4096];
        disk.Read(40 << 20, back);
        Assert.All(back, b => Assert.Equal(0, b)); // dropped data does not come back
    }

    [Fact]
    public void CompactReleasesZeroBlocksMovesTailBlocksAndKeepsData()
    {
        using var dir = new TempDir();
        string path = dir.File("c.vhdx");
        var reference = new byte[64 << 20];
        using (var disk = VhdxDisk.Create(path, new DiskCreateOptions { Capacity = reference.Length, BlockSize = 1 << 20 }))
        {
            for (int block = 0; block < 64; block++)
            {
                byte[] data = block % 3 == 0 ? new byte[1 << 20] : Random(1 << 20, block); // every third block all zeros
                disk.Write((long)block * (1 << 20), data);
                data.CopyTo(reference, block << 20);
            }
            for (int block = 1; block < 64; block += 5) // and some unmapped
            {
                disk.Unmap((long)block << 20, 1 << 20);
                Array.Clear(reference, block << 20, 1 << 20);
            }
            long before = new FileInfo(path).Length;
            var result = disk.Compact();
            output.WriteLine($"{result}");
            Assert.True(result.ZeroBlocksReleased == 18, $"released {result.ZeroBlocksReleased}");
            Assert.True(result.FileSizeAfter < before, $"file {before} -> {result.FileSizeAfter}");
            var back = new byte[reference.Length];
            disk.Read(0, back);
            Assert.True(reference.AsSpan().SequenceEqual(back), "data changed while compacting");
        }
        using (var disk = VhdxDisk.Open(path, DiskOpenOptions.ReadOnlyDefault))
        {
            var back = new byte[reference.Length];
            disk.Read(0, back);
            Assert.True(reference.AsSpan().SequenceEqual(back), "data changed after reopening");
        }
        if (QemuImg.Available) QemuImg.AssertClean(path); else output.WriteLine(QemuImg.MissingReason);
    }

    /// <summary>Copies the file while a writer still has it open after a flush: the copy holds a live log, as after a crash.</summary>
    private static (string Path, byte[] Data) MakeImageWithPendingLog(TempDir dir)
    {
        string path = dir.File("live.vhdx"), copy = dir.File("crashed.vhdx");
        var data = Random(3 << 20, 9);
        using (var disk = VhdxDisk.Create(path, new DiskCreateOptions { Capacity = 32 << 20, BlockSize = 1 << 20 }))
        {
            disk.Write(1 << 20, data);
            disk.Flush();
            // cp takes no flock, so it can copy the file the open disk holds exclusively.
            using var cp = System.Diagnostics.Process.Start("cp", [path, copy]);
            cp.WaitForExit();
            Assert.Equal(0, cp.ExitCode);
        }
        return (copy, data);
    }

    [Fact]
    public void ReadOnlyOpenReplaysPendingLogInMemoryWithoutWriting()
    {
        using var dir = new TempDir();
        var (path, data) = MakeImageWithPendingLog(dir);
        string before = Hash(path);
        using (var disk = VhdxDisk.Open(path, DiskOpenOptions.ReadOnlyDefault))
        {
            Assert.True(disk.ReplayedLog);
            var back = new byte[data.Length];
            disk.Read(1 << 20, back);
            Assert.Equal(data, back);
        }
        Assert.Equal(before, Hash(path));
        using (var disk = VhdxDisk.Open(path)) Assert.True(disk.ReplayedLog); // writable: replays into the file
        using (var disk = VhdxDisk.Open(path)) Assert.False(disk.ReplayedLog); // and the log is now empty
        if (QemuImg.Available) QemuImg.AssertClean(path); else output.WriteLine(QemuImg.MissingReason);
    }

    [Fact]
    public void CheckFindsNothingOnACleanImage()
    {
        using var dir = new TempDir();
        string path = dir.File("ok.vhdx");
        using (var disk = VhdxDisk.Create(path, new DiskCreateOptions { Capacity = 16 << 20, BlockSize = 1 << 20 }))
            disk.Write(0, Random(2 << 20, 3));
        var report = VhdxChecker.Check(path);
        Assert.True(report.IsValid, string.Join("\n", report.Problems));
        Assert.Empty(report.Problems);
    }

    [Fact]
    public void CheckReportsAndRepairsHeaderRegionLogAndBatProblems()
    {
        using var dir = new TempDir();
        var (path, data) = MakeImageWithPendingLog(dir);
        using (var f = File.OpenWrite(path))
        {
            f.Position = 64 * 1024 + 100; f.WriteByte(0xEE);   // header 1 checksum breaks
            f.Position = 256 * 1024 + 40; f.WriteByte(0xEE);   // region table 2 checksum breaks
        }
        var report = VhdxChecker.Check(path);
        foreach (var p in report.Problems) output.WriteLine(p.ToString());
        Assert.Contains(report.Problems, p => p.Structure == "header 1" && p.FileOffset == 0x10000);
        Assert.Contains(report.Problems, p => p.Structure == "region table 2" && p.FileOffset == 0x40000);
        Assert.Contains(report.Problems, p => p.Structure == "log");
        var repaired = VhdxChecker.Check(path, repair: true);
        Assert.All(repaired.Problems, p => Assert.True(p.Repaired, p.ToString()));
        Assert.Empty(VhdxChecker.Check(path).Problems);
        using (var disk = VhdxDisk.Open(path, DiskOpenOptions.ReadOnlyDefault))
        {
            var back = new byte[data.Length];
            disk.Read(1 << 20, back);
            Assert.Equal(data, back);
        }
        if (QemuImg.Available) QemuImg.AssertClean(path);
    }

    [Fact]
    public void CheckRepairsBatEntryPointingBeyondTheEndOfTheFile()
    {
        using var dir = new TempDir();
        string path = dir.File("bat.vhdx");
        using (var disk = VhdxDisk.Create(path, new DiskCreateOptions { Capacity = 16 << 20, BlockSize = 1 << 20 }))
        {
            disk.Write(0, Random(1 << 20, 4));
            disk.Write(5 << 20, Random(1 << 20, 5));
        }
        // BAT at 3 MiB; make payload block 5's entry point 1 GiB into a 6 MiB file.
        using (var f = File.OpenWrite(path))
        {
            f.Position = 3 * 1024 * 1024 + 5 * 8;
            f.Write(BitConverter.GetBytes(((ulong)1024 << 20) | 6));
        }
        var open = Assert.Throws<CorruptImageException>(() => VhdxDisk.Open(path, DiskOpenOptions.ReadOnlyDefault));
        Assert.Equal("BAT entry 5", open.Structure);
        Assert.Equal(3 * 1024 * 1024 + 40, open.FileOffset);
        var report = VhdxChecker.Check(path);
        Assert.False(report.IsValid);
        Assert.Contains(report.Problems, p => p.Structure == "BAT entry 5" && p.Repairable);
        Assert.True(VhdxChecker.Check(path, repair: true).IsValid);
        using var disk2 = VhdxDisk.Open(path, DiskOpenOptions.ReadOnlyDefault);
        var back = new byte[1 << 20];
        disk2.Read(5 << 20, back);
        Assert.All(back, b => Assert.Equal(0, b));
        if (QemuImg.Available) QemuImg.AssertClean(path);
    }
}
