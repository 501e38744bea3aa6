using HyperSharp.Vhdx.Operations;
using HyperSharp.Vhdx.Vhdx;

namespace HyperSharp.Vhdx.Tests.Operations;

public class ConvertTests
{
    private const long Capacity = 48 << 20;

    private static (string Path, byte[] Reference) RawSource(TempDir dir, int seed)
    {
        var reference = new byte[Capacity];
        string path = dir.File($"source-{seed}.raw");
        using (var disk = RawDisk.Create(path, Capacity)) DiskScript.Scribble(disk, reference, seed, 50);
        return (path, reference);
    }

    [Theory]
    [InlineData(DiskFormat.Vhdx, DiskType.Dynamic, 0, 512)]
    [InlineData(DiskFormat.Vhdx, DiskType.Dynamic, 1 << 20, 4096)]
    [InlineData(DiskFormat.Vhdx, DiskType.Fixed, 2 << 20, 512)]
    [InlineData(DiskFormat.Raw, DiskType.Dynamic, 0, 512)]
    [InlineData(DiskFormat.Raw, DiskType.Fixed, 0, 512)]
    public void RawRoundTripsThroughEveryTargetByteIdentical(DiskFormat format, DiskType type, int blockSize, int sector)
    {
        using var dir = new TempDir();
        var (source, reference) = RawSource(dir, 3);
        string middle = dir.File("middle." + (format == DiskFormat.Raw ? "img" : "vhdx"));
        DiskConvert.Convert(source, middle, new ConvertOptions { Format = format, Type = type, BlockSize = blockSize, LogicalSectorSize = sector });
        using (var disk = VirtualDisk.Open(middle, DiskOpenOptions.ReadOnlyDefault, format))
        {
            Assert.Equal(format, disk.Format);
            if (format == DiskFormat.Vhdx) { Assert.Equal(type, disk.Type); Assert.Equal(sector, disk.LogicalSectorSize); }
            DiskScript.AssertSame(reference, DiskScript.ReadAll(disk));
        }
        QemuImg.AssertCleanAndEqual(middle, format, source, sector);
        string back = dir.File("back.raw");
        DiskConvert.Convert(middle, back, new ConvertOptions { Format = DiskFormat.Raw });
        DiskScript.AssertSame(reference, File.ReadAllBytes(back));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.partial"));
    }

    [Fact]
    public void FixedAndDynamicVhdxConvertIntoEachOther()
    {
        using var dir = new TempDir();
        var (raw, reference) = RawSource(dir, 4);
        string dynamic = dir.File("d.vhdx"), fixedImage = dir.File("f.vhdx"), again = dir.File("d2.vhdx");
        DiskConvert.Convert(raw, dynamic);
        DiskConvert.Convert(dynamic, fixedImage, new ConvertOptions { Type = DiskType.Fixed });
        DiskConvert.Convert(fixedImage, again, new ConvertOptions { Type = DiskType.Dynamic });
        foreach (var (path, type) in new[] { (dynamic, DiskType.Dynamic), (fixedImage, DiskType.Fixed), (again, DiskType.Dynamic) })
        {
            using var disk = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault);
            Assert.Equal(type, disk.Type);
            DiskScript.AssertSame(reference, DiskScript.ReadAll(disk));
            QemuImg.AssertCleanAndEqual(path, DiskFormat.Vhdx, raw);
        }
    }

    [Theory]
    [InlineData(DiskFormat.Vhdx, 512)]
    [InlineData(DiskFormat.Vhdx, 4096)]
    [InlineData(DiskFormat.Raw, 512)]
    public void DifferencingChainBecomesAStandaloneImage(DiskFormat format, int sector)
    {
        using var dir = new TempDir();
        var (paths, views) = DiskScript.BuildChain(dir.Path, Capacity, sector: sector);
        string target = dir.File(format == DiskFormat.Raw ? "flat.raw" : "flat.vhdx");
        DiskConvert.Convert(paths[2], target);
        using (var disk = VirtualDisk.Open(target, DiskOpenOptions.ReadOnlyDefault))
        {
            Assert.Null(disk.Parent);
            Assert.True(disk.Type == DiskType.Dynamic || format == DiskFormat.Raw);
            Assert.Equal(format == DiskFormat.Raw ? 512 : sector, disk.LogicalSectorSize);
            DiskScript.AssertSame(views[2], DiskScript.ReadAll(disk));
        }
        string rawReference = dir.File("reference.raw");
        File.WriteAllBytes(rawReference, views[2]);
        QemuImg.AssertCleanAndEqual(target, format, rawReference, sector);
        DiskScript.AssertSame(views[2], DiskScript.ReadAll(paths[2])); // the chain is untouched
    }

    [Fact]
    public void ZeroDataIsNotAllocatedInADynamicTarget()
    {
        using var dir = new TempDir();
        string source = dir.File("zeros.vhdx"), target = dir.File("target.vhdx");
        var data = new byte[3 << 20];
        new Random(5).NextBytes(data.AsSpan(0, 4096));
        using (var disk = VirtualDisk.Create(source, new DiskCreateOptions { Capacity = Capacity, BlockSize = 1 << 20 }))
        {
            disk.Write(8 << 20, new byte[16 << 20]); // stored zeros: 16 allocated blocks that hold nothing
            disk.Write(30 << 20, data);
        }
        var progress = new MaxProgress();
        DiskConvert.Convert(source, target, new ConvertOptions { BlockSize = 1 << 20 }, progress);
        Assert.Equal(Capacity, progress.Max);
        var info = DiskInfo.Read(target);
        Assert.Equal(1 << 20, info.AllocatedBytes); // only the block holding the 4 KiB of data
        var back = new byte[data.Length];
        using var disk2 = VirtualDisk.Open(target, DiskOpenOptions.ReadOnlyDefault);
        disk2.Read(30 << 20, back);
        Assert.Equal(data, back);
    }

    [Fact]
    public void AFailedConvertLeavesNothingBehind()
    {
        using var dir = new TempDir();
        var (source, _) = RawSource(dir, 6);
        string target = dir.File("t.vhdx");
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => DiskConvert.Convert(source, target, cancel: cancel.Token));
        Assert.Equal([source], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void AnExistingTargetIsRefusedUnlessOverwriteIsAsked()
    {
        using var dir = new TempDir();
        var (source, reference) = RawSource(dir, 7);
        string target = dir.File("t.vhdx");
        File.WriteAllText(target, "precious");
        var e = Assert.Throws<VirtualDiskException>(() => DiskConvert.Convert(source, target));
        Assert.Contains("already exists", e.Message);
        Assert.Equal("precious", File.ReadAllText(target));
        DiskConvert.Convert(source, target, new ConvertOptions { Overwrite = true });
        DiskScript.AssertSame(reference, DiskScript.ReadAll(target));
    }

    [Fact]
    public void ConvertCanGrowButNotShrink()
    {
        using var dir = new TempDir();
        var (source, reference) = RawSource(dir, 8);
        string bigger = dir.File("big.vhdx");
        DiskConvert.Convert(source, bigger, new ConvertOptions { Capacity = Capacity * 2 });
        var all = DiskScript.ReadAll(bigger);
        DiskScript.AssertSame(reference, all[..(int)Capacity]);
        Assert.True(DiskScript.ReadAll(bigger).AsSpan((int)Capacity).IndexOfAnyExcept((byte)0) < 0);
        Assert.Throws<VirtualDiskException>(() => DiskConvert.Convert(source, dir.File("small.vhdx"), new ConvertOptions { Capacity = Capacity / 2 }));
    }

    [Fact]
    public void TheSourceCannotBeItsOwnTarget()
    {
        using var dir = new TempDir();
        var (paths, _) = DiskScript.BuildChain(dir.Path, 8 << 20);
        Assert.Throws<VirtualDiskException>(() => DiskConvert.Convert(paths[2], paths[0], new ConvertOptions { Overwrite = true }));
        using var stillValid = VhdxDisk.Open(paths[0], DiskOpenOptions.ReadOnlyDefault);
    }

    /// <summary>Keeps the largest value reported (reports come from two threads).</summary>
    private sealed class MaxProgress : IProgress<long>
    {
        public long Max;
        public void Report(long value) { lock (this) Max = Math.Max(Max, value); }
    }
}
