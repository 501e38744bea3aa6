using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Vhdx.Tests.Operations;

public class MergeTests
{
    private const long Capacity = 40 << 20;

    [Fact]
    public void MergeIntoParentGivesTheChildsViewAndDeletesTheChild()
    {
        using var dir = new TempDir();
        var (paths, views) = DiskScript.BuildChain(dir.Path, Capacity);
        string into = DiskMerge.MergeIntoAncestor(paths[2]);
        Assert.Equal(paths[1], into);
        Assert.False(File.Exists(paths[2]));
        DiskScript.AssertSame(views[2], DiskScript.ReadAll(paths[1]));
        DiskScript.AssertSame(views[0], DiskScript.ReadAll(paths[0])); // the base is untouched
    }

    [Theory]
    [InlineData(512)]
    [InlineData(4096)]
    public void MergeIntoGrandparentMergesEveryLayerInBetween(int sector)
    {
        using var dir = new TempDir();
        var (paths, views) = DiskScript.BuildChain(dir.Path, Capacity, sector: sector);
        string into = DiskMerge.MergeIntoAncestor(paths[2], paths[0]);
        Assert.Equal(paths[0], into);
        Assert.False(File.Exists(paths[1]));
        Assert.False(File.Exists(paths[2]));
        DiskScript.AssertSame(views[2], DiskScript.ReadAll(paths[0]));
        string reference = dir.File("reference.raw");
        File.WriteAllBytes(reference, views[2]);
        QemuImg.AssertCleanAndEqual(paths[0], DiskFormat.Vhdx, reference, sector);
    }

    [Fact]
    public void MergeIntoANewImageLeavesTheChainAlone()
    {
        using var dir = new TempDir();
        var (paths, views) = DiskScript.BuildChain(dir.Path, Capacity);
        string flat = dir.File("flat.vhdx");
        DiskMerge.MergeToNewImage(paths[2], flat);
        DiskScript.AssertSame(views[2], DiskScript.ReadAll(flat));
        foreach (var p in paths) Assert.True(File.Exists(p));
        DiskScript.AssertSame(views[2], DiskScript.ReadAll(paths[2]));
    }

    [Fact]
    public void UnmappedRangesOfTheChildBecomeZerosInTheParent()
    {
        using var dir = new TempDir();
        string parent = dir.File("p.vhdx"), child = dir.File("c.avhdx");
        var data = new byte[8 << 20];
        new Random(1).NextBytes(data);
        using (var disk = VirtualDisk.Create(parent, new DiskCreateOptions { Capacity = 16 << 20, BlockSize = 1 << 20 })) disk.Write(0, data);
        using (var disk = VirtualDisk.Create(child, new DiskCreateOptions { Type = DiskType.Differencing, ParentPath = parent }))
        {
            disk.Unmap(2 << 20, 2 << 20);    // whole blocks: BAT state ZERO in the child
            disk.Unmap(5 << 20, 1000);        // partial: zeros written in the child
            disk.Write(7 << 20, new byte[512]);
        }
        DiskMerge.MergeIntoAncestor(child);
        Array.Clear(data, 2 << 20, 2 << 20);
        Array.Clear(data, 5 << 20, 1000);
        Array.Clear(data, 7 << 20, 512);
        var expected = new byte[16 << 20];
        data.CopyTo(expected, 0);
        DiskScript.AssertSame(expected, DiskScript.ReadAll(parent));
    }

    [Fact]
    public void AGrownChildGrowsItsParent()
    {
        using var dir = new TempDir();
        string parent = dir.File("p.vhdx"), child = dir.File("c.avhdx");
        using (VirtualDisk.Create(parent, new DiskCreateOptions { Capacity = 8 << 20, BlockSize = 1 << 20 })) { }
        var tail = new byte[4096];
        new Random(2).NextBytes(tail);
        using (var disk = VirtualDisk.Create(child, new DiskCreateOptions { Type = DiskType.Differencing, ParentPath = parent }))
        {
            disk.Resize(16 << 20);
            disk.Write((16 << 20) - 4096, tail);
        }
        DiskMerge.MergeIntoAncestor(child);
        using var merged = VirtualDisk.Open(parent, DiskOpenOptions.ReadOnlyDefault);
        Assert.Equal(16 << 20, merged.Capacity);
        var back = new byte[4096];
        merged.Read((16 << 20) - 4096, back);
        Assert.Equal(tail, back);
    }

    [Fact]
    public void BadDestinationsAreRefusedWithoutChangingAnything()
    {
        using var dir = new TempDir();
        var (paths, views) = DiskScript.BuildChain(dir.Path, 8 << 20);
        string stranger = dir.File("stranger.vhdx");
        using (VirtualDisk.Create(stranger, new DiskCreateOptions { Capacity = 8 << 20 })) { }
        var e = Assert.Throws<VirtualDiskException>(() => DiskMerge.MergeIntoAncestor(paths[2], stranger));
        Assert.Contains("not an ancestor", e.Message);
        e = Assert.Throws<VirtualDiskException>(() => DiskMerge.MergeIntoAncestor(paths[0]));
        Assert.Contains("not a differencing disk", e.Message);
        Assert.Throws<VirtualDiskException>(() => DiskMerge.MergeIntoAncestor(paths[2], paths[2]));
        DiskScript.AssertSame(views[2], DiskScript.ReadAll(paths[2]));
    }
}
