using HyperSharp.Vhdx.Operations;
using HyperSharp.Vhdx.Vhdx;

namespace HyperSharp.Vhdx.Tests.Operations;

/// <summary>
/// DiskReparent (Set-VHD -ParentPath): after a middle layer is merged into its parent, its child is pointed at that
/// parent and reads what it read before; a longer locator than the old one moves within the metadata region.
/// </summary>
public class ReparentTests
{
    private const long Capacity = 40 << 20;

    [Theory]
    [InlineData("b")]                                            // the new locator fits where the old one was
    [InlineData("a-much-longer-folder-name-for-the-parent-image")] // it does not: it goes after the last metadata item
    public void AChildPointedAtTheMergedParentReadsAsBefore(string folder)
    {
        using var dir = new TempDir();
        var (paths, views) = DiskScript.BuildChain(dir.Path, Capacity);
        // Move the base into another folder (a longer or shorter path), then point the middle layer at it.
        string moved = Path.Combine(Directory.CreateDirectory(dir.File(folder)).FullName, "base.vhdx");
        File.Move(paths[0], moved);
        DiskReparent.SetParent(paths[1], moved);
        // Merge the middle layer into the base and point the top layer at the base: the top still reads its view.
        DiskMerge.MergeIntoAncestor(paths[1], moved, deleteMerged: false);
        DiskReparent.SetParent(paths[2], moved);
        File.Delete(paths[1]);

        Assert.Equal([paths[2], moved], DiskChain.Paths(paths[2]));
        DiskScript.AssertSame(views[2], DiskScript.ReadAll(paths[2]));
        DiskScript.AssertSame(views[1], DiskScript.ReadAll(moved));
        foreach (var file in new[] { paths[2], moved }) Assert.True(VhdxChecker.Check(file).Problems.Count == 0, $"{file}: {string.Join("; ", VhdxChecker.Check(file).Problems)}");
    }

    [Fact]
    public void AParentOfAnotherSizeIsRefusedNamingBoth()
    {
        using var dir = new TempDir();
        var (paths, _) = DiskScript.BuildChain(dir.Path, Capacity);
        string other = dir.File("other.vhdx");
        VirtualDisk.Create(other, new DiskCreateOptions { Capacity = Capacity * 2 }).Dispose();
        var e = Assert.Throws<VirtualDiskException>(() => DiskReparent.SetParent(paths[2], other));
        Assert.Contains(other, e.Message);
        Assert.Contains(paths[2], e.Message);
        Assert.Equal(paths[1], DiskChain.Paths(paths[2])[1]); // unchanged
    }
}
