using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Vhdx.Tests.Operations;

public class ExtentCopierTests
{
    [Theory]
    [InlineData(1, 64 << 10)]
    [InlineData(3, 1 << 20)]
    [InlineData(8, 4 << 20)]
    public void AnyWorkerCountAndBufferSizeGivesTheSameImage(int workers, int bufferSize)
    {
        using var dir = new TempDir();
        var (paths, views) = DiskScript.BuildChain(dir.Path, 12 << 20);
        using var source = VirtualDisk.Open(paths[2], DiskOpenOptions.ReadOnlyDefault);
        using (var target = VirtualDisk.Create(dir.File("t.vhdx"), new DiskCreateOptions { Capacity = source.Capacity, BlockSize = 1 << 20 }))
            new ExtentCopier(DiskChain.Layers(source), target, targetIsFresh: true, null, bufferSize, workers).Copy(source.Capacity);
        DiskScript.AssertSame(views[2], DiskScript.ReadAll(dir.File("t.vhdx")));
    }

    [Fact]
    public void AFailingWriteStopsEveryWorkerAndSurfacesTheError()
    {
        using var dir = new TempDir();
        var (paths, _) = DiskScript.BuildChain(dir.Path, 12 << 20);
        using (VirtualDisk.Create(dir.File("t.vhdx"), new DiskCreateOptions { Capacity = 12 << 20 })) { }
        using var source = VirtualDisk.Open(paths[2], DiskOpenOptions.ReadOnlyDefault);
        using var readOnlyTarget = VirtualDisk.Open(dir.File("t.vhdx"), DiskOpenOptions.ReadOnlyDefault);
        var copier = new ExtentCopier(DiskChain.Layers(source), readOnlyTarget, targetIsFresh: true, null, 64 << 10, 4);
        var e = Assert.Throws<VirtualDiskException>(() => copier.Copy(source.Capacity));
        Assert.Contains("read-only", e.Message);
    }
}
