using HyperSharp.Vhdx.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Vhdx.Tests.Vhdx;

/// <summary>
/// Differencing VHDX chains. Peer gap: qemu-img (7.2, and upstream to date) cannot create
/// differencing VHDX and refuses to open them ("parent locator not supported"), so these chains
/// are checked against the raw reference each test keeps itself; qemu-img only checks the base
/// (dynamic) parent, which it can read.
/// </summary>
public class VhdxDifferencingChainTests(ITestOutputHelper output)
{
    private const long MiB = 1 << 20;

    [Theory]
    [InlineData(512, 1, 2)]
    [InlineData(4096, 2, 1)]
    [InlineData(512, 8, 32)]
    public void ThreeLevelChainMatchesRawReference(int sector, int childBlockMiB, int parentBlockMiB)
    {
        using var dir = new TempDir();
        string parentPath = dir.File("base.vhdx"), childPath = dir.File("child.avhdx"), grandPath = dir.File("grand.avhdx");
        long size = 45 * MiB + 2 * 4096;
        var rng = new Random(sector + childBlockMiB * 7 + parentBlockMiB);
        var model = new byte[size];
        int w = 0, u = 0, f = 0;
        using (var parent = VirtualDisk.Create(parentPath, new DiskCreateOptions { Capacity = size, BlockSize = parentBlockMiB * (int)MiB, LogicalSectorSize = sector }))
            VhdxQemuInteropTests.RandomOps(parent, ref model, rng, 60, ref w, ref u, ref f);
        var parentModel = (byte[])model.Clone();

        using (var child = VirtualDisk.Create(childPath, new DiskCreateOptions { Type = DiskType.Differencing, ParentPath = parentPath, BlockSize = childBlockMiB * (int)MiB }))
        {
            Assert.Equal(DiskType.Differencing, child.Type);
            Assert.Equal(size, child.Capacity);
            Assert.Equal(sector, child.LogicalSectorSize);
            PeerTools.AssertSameBytes(model, PeerTools.ReadAll(child), "new child reads its parent");
            // Writes and unmaps in the child: unmapped ranges must read zeros, not the parent's data.
            VhdxQemuInteropTests.RandomOps(child, ref model, rng, 80, ref w, ref u, ref f);
            child.Unmap(0, 3 * MiB + 512);
            model.AsSpan(0, (int)(3 * MiB + 512)).Clear();
            child.Unmap(10 * MiB + 100, 5000);
            model.AsSpan((int)(10 * MiB + 100), 5000).Clear();
            PeerTools.AssertSameBytes(model, PeerTools.ReadAll(child), "child after writes and unmaps, same session");
        }
        var childModel = (byte[])model.Clone();

        using (var grand = VirtualDisk.Create(grandPath, new DiskCreateOptions { Type = DiskType.Differencing, ParentPath = childPath, BlockSize = childBlockMiB * (int)MiB }))
        {
            VhdxQemuInteropTests.RandomOps(grand, ref model, rng, 60, ref w, ref u, ref f);
            // Write over a range the child unmapped: partially present block over a zero block.
            var data = new byte[7000];
            rng.NextBytes(data);
            grand.Write(MiB + 3, data);
            data.CopyTo(model, MiB + 3);
        }
        output.WriteLine($"chain of 3, {sector}-byte sectors: {w} writes, {u} unmaps, {f} flushes");

        using (var grand = VhdxDisk.Open(grandPath, DiskOpenOptions.ReadOnlyDefault))
        {
            Assert.NotNull(grand.Parent);
            Assert.NotNull(grand.Parent!.Parent);
            PeerTools.AssertSameBytes(model, PeerTools.ReadAll(grand), "grandchild (whole chain) reopened");
            AssertExtentsConsistent(grand, model);
        }
        using (var child = VirtualDisk.Open(childPath, DiskOpenOptions.ReadOnlyDefault))
            PeerTools.AssertSameBytes(childModel, PeerTools.ReadAll(child), "child reopened: unchanged by the grandchild");
        using (var parent = VirtualDisk.Open(parentPath, DiskOpenOptions.ReadOnlyDefault))
            PeerTools.AssertSameBytes(parentModel, PeerTools.ReadAll(parent), "base reopened: unchanged by the chain");
        if (PeerTools.CanCheck(output, parentPath, sector))
        {
            PeerTools.AssertCheckClean(parentPath);
            File.WriteAllBytes(dir.File("base.raw"), parentModel);
            PeerTools.AssertCompareIdentical(parentPath, dir.File("base.raw"));
            // Document the peer gap: qemu refuses differencing VHDX.
            var r = PeerTools.QemuImgRun("info", "-f", "vhdx", childPath);
            output.WriteLine($"qemu-img info on a differencing VHDX: exit {r.ExitCode} {r.Stderr.Trim()}");
        }
    }

    /// <summary>A write to the parent after the child was made changes its DataWriteGuid: the child must refuse it.</summary>
    [Fact]
    public void ChildRefusesAParentThatChanged()
    {
        using var dir = new TempDir();
        string parentPath = dir.File("base.vhdx"), childPath = dir.File("child.avhdx");
        using (var p = VirtualDisk.Create(parentPath, new DiskCreateOptions { Capacity = 8 * MiB, BlockSize = (int)MiB })) p.Write(0, new byte[512]);
        using (VirtualDisk.Create(childPath, new DiskCreateOptions { Type = DiskType.Differencing, ParentPath = parentPath })) { }
        using (var p = VirtualDisk.Open(parentPath)) p.Write(4096, new byte[] { 1 });
        var e = Assert.Throws<VirtualDiskException>(() => VirtualDisk.Open(childPath, DiskOpenOptions.ReadOnlyDefault));
        Assert.Contains("DataWriteGuid", e.Message);
        using (var c = VirtualDisk.Open(childPath, DiskOpenOptions.ReadOnlyDefault with { IgnoreParentIdentity = true })) Assert.NotNull(c.Parent);
    }

    /// <summary>The parent is found by its relative path after the whole chain moves to another directory.</summary>
    [Fact]
    public void ChainMovedTogetherStillOpens()
    {
        using var dir = new TempDir();
        string a = Path.Combine(dir.Path, "a"), b = Path.Combine(dir.Path, "b");
        Directory.CreateDirectory(a);
        var data = new byte[MiB];
        new Random(3).NextBytes(data);
        using (var p = VirtualDisk.Create(Path.Combine(a, "base.vhdx"), new DiskCreateOptions { Capacity = 8 * MiB, BlockSize = (int)MiB })) p.Write(MiB, data);
        using (var c = VirtualDisk.Create(Path.Combine(a, "child.avhdx"), new DiskCreateOptions { Type = DiskType.Differencing, ParentPath = Path.Combine(a, "base.vhdx") }))
            c.Write(0, data.AsSpan(0, 4096));
        Directory.Move(a, b);
        using var child = VirtualDisk.Open(Path.Combine(b, "child.avhdx"), DiskOpenOptions.ReadOnlyDefault);
        var back = new byte[MiB];
        child.Read(MiB, back);
        Assert.Equal(data, back);
    }

    /// <summary>GetExtent runs cover the disk without gaps, and Zero runs read as zeros.</summary>
    private static void AssertExtentsConsistent(IVirtualDisk disk, byte[] model)
    {
        long at = 0;
        while (at < disk.Capacity)
        {
            var e = disk.GetExtent(at);
            Assert.Equal(at, e.Offset);
            Assert.True(e.Length > 0 && e.Offset + e.Length <= disk.Capacity, $"extent {e} at {at}");
            if (e.State == ExtentState.Zero)
                Assert.True(model.AsSpan((int)e.Offset, (int)e.Length).IndexOfAnyExcept((byte)0) < 0, $"extent {e} is Zero but the reference has data there");
            at += e.Length;
        }
    }
}
