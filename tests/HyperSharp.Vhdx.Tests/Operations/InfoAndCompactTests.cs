using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Vhdx.Tests.Operations;

public class InfoAndCompactTests
{
    [Fact]
    public void InfoDescribesADifferencingDisk()
    {
        using var dir = new TempDir();
        var (paths, _) = DiskScript.BuildChain(dir.Path, 16 << 20, sector: 4096);
        var info = DiskInfo.Read(paths[2]);
        Assert.Equal(paths[2], info.Path);
        Assert.Equal(DiskFormat.Vhdx, info.Format);
        Assert.Equal(DiskType.Differencing, info.Type);
        Assert.Equal(16 << 20, info.Capacity);
        Assert.Equal(4096, info.LogicalSectorSize);
        Assert.Equal(paths[1], info.ParentPath);
        Assert.Equal(3, info.ChainDepth);
        Assert.NotNull(info.DiskIdentifier);
        Assert.Equal(new FileInfo(paths[2]).Length, info.FileSize);
        Assert.InRange(info.AllocatedBytes, 1, info.Capacity);
        Assert.Null(info.ParentProblem);
    }

    [Fact]
    public void InfoReportsAMissingParentInsteadOfFailing()
    {
        using var dir = new TempDir();
        var (paths, _) = DiskScript.BuildChain(dir.Path, 8 << 20);
        File.Move(paths[1], dir.File("moved.avhdx"));
        var info = DiskInfo.Read(paths[2]);
        Assert.Null(info.ParentPath);
        Assert.Contains("parent not found", info.ParentProblem);
        Assert.NotNull(info.ParentLocator);
        Assert.Equal("child.avhdx", info.ParentLocator!["relative_path"]);
    }

    [Fact]
    public void CompactDropsZeroBlocksAndKeepsTheData()
    {
        using var dir = new TempDir();
        string path = dir.File("d.vhdx");
        var reference = new byte[32 << 20];
        using (var disk = VirtualDisk.Create(path, new DiskCreateOptions { Capacity = reference.Length, BlockSize = 1 << 20 }))
        {
            disk.Write(0, new byte[24 << 20]); // 24 allocated blocks of zeros
            DiskScript.Scribble(disk, reference, 3, 8, unmaps: false);
        }
        long allocatedBefore = DiskInfo.Read(path).AllocatedBytes;
        var (before, after) = DiskCompact.Rewrite(path);
        Assert.True(after < before, $"{before} -> {after}");
        Assert.True(DiskInfo.Read(path).AllocatedBytes < allocatedBefore);
        DiskScript.AssertSame(reference, DiskScript.ReadAll(path));
        Assert.Single(Directory.GetFiles(dir.Path));
        string raw = dir.File("reference.raw");
        File.WriteAllBytes(raw, reference);
        QemuImg.AssertCleanAndEqual(path, DiskFormat.Vhdx, raw);
    }

    [Fact]
    public void CompactOfADifferencingDiskKeepsItsViewAndParent()
    {
        using var dir = new TempDir();
        var (paths, views) = DiskScript.BuildChain(dir.Path, 16 << 20);
        DiskCompact.Rewrite(paths[2]);
        DiskScript.AssertSame(views[2], DiskScript.ReadAll(paths[2]));
        Assert.Equal(paths[1], DiskInfo.Read(paths[2]).ParentPath);
    }

    [Fact]
    public void CompactRefusesAFixedImage()
    {
        using var dir = new TempDir();
        string path = dir.File("f.vhdx");
        using (VirtualDisk.Create(path, new DiskCreateOptions { Type = DiskType.Fixed, Capacity = 4 << 20, BlockSize = 1 << 20 })) { }
        Assert.Throws<VirtualDiskException>(() => DiskCompact.Rewrite(path));
    }
}
