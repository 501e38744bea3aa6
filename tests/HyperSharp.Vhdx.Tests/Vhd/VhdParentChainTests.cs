using System.Buffers.Binary;
using System.Text;
using HyperSharp.Vhdx.Vhd;

namespace HyperSharp.Vhdx.Tests.Vhd;

/// <summary>Differencing disks' parent linkage: locators, identity, name, time stamp, loops.</summary>
public class VhdParentChainTests
{
    private const long Capacity = 4L * VhdTest.MiB;

    private static void MakeChain(string parent, string child, byte fill)
    {
        using (var p = VhdTest.Create(parent, DiskType.Dynamic, Capacity)) p.Write(0, Enumerable.Repeat(fill, 4096).ToArray());
        using (VhdTest.Create(child, DiskType.Differencing, 0, parent)) { }
    }

    [Fact]
    public void Header_RecordsParentIdentityNameTimeAndBothLocators()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("base"));
        string parent = dir.File("base/parent.vhd"), child = dir.File("child.vhd");
        MakeChain(parent, child, 1);
        Guid parentId;
        using (var p = VhdDisk.Open(parent, DiskOpenOptions.ReadOnlyDefault)) parentId = p.UniqueId;
        byte[] file = File.ReadAllBytes(child);
        byte[] header = file[512..1536];
        Assert.Equal(parentId, new Guid(header[40..56], bigEndian: true));
        uint stamp = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(56));
        Assert.Equal(VhdTime.OfFile(parent), stamp);
        Assert.Equal(parent, Encoding.BigEndianUnicode.GetString(header, 64, 512).TrimEnd('\0'));

        var rel = VhdParentLocator.Read(header.AsSpan(576));
        var abs = VhdParentLocator.Read(header.AsSpan(600));
        Assert.Equal(VhdParentLocator.W2ru, rel.PlatformCode);
        Assert.Equal(VhdParentLocator.W2ku, abs.PlatformCode);
        Assert.Equal(".\\base\\parent.vhd", Encoding.Unicode.GetString(file, (int)rel.DataOffset, (int)rel.DataLength));
        Assert.Equal(parent.Replace('/', '\\'), Encoding.Unicode.GetString(file, (int)abs.DataOffset, (int)abs.DataLength));
        Assert.Equal(1u, rel.DataSpace); // in sectors
    }

    [Fact]
    public void RelativeLocator_FindsTheParentAfterBothFilesMoved()
    {
        using var dir = new TempDir();
        MakeChain(dir.File("p.vhd"), dir.File("c.vhd"), 7);
        Directory.CreateDirectory(dir.File("moved"));
        File.Move(dir.File("p.vhd"), dir.File("moved/p.vhd"));
        File.Move(dir.File("c.vhd"), dir.File("moved/c.vhd"));
        using var child = VhdDisk.Open(dir.File("moved/c.vhd"));
        Assert.Equal(dir.File("moved/p.vhd"), child.Parent!.Path);
        var b = new byte[4096];
        child.Read(0, b);
        Assert.All(b, x => Assert.Equal(7, x));
    }

    [Fact]
    public void AbsoluteLocator_FindsTheParentWhenOnlyTheChildMoved()
    {
        using var dir = new TempDir();
        MakeChain(dir.File("p.vhd"), dir.File("c.vhd"), 9);
        Directory.CreateDirectory(dir.File("elsewhere"));
        File.Move(dir.File("c.vhd"), dir.File("elsewhere/c.vhd"));
        using var child = VhdDisk.Open(dir.File("elsewhere/c.vhd"));
        Assert.Equal(dir.File("p.vhd"), child.Parent!.Path);
    }

    [Fact]
    public void MissingParent_SaysWhatWasTried()
    {
        using var dir = new TempDir();
        MakeChain(dir.File("p.vhd"), dir.File("c.vhd"), 1);
        File.Delete(dir.File("p.vhd"));
        var e = Assert.Throws<VirtualDiskException>(() => VhdDisk.Open(dir.File("c.vhd")));
        Assert.Contains("parent disk not found", e.Message);
        Assert.Contains(dir.File("p.vhd"), e.Message);
        // Without the parent the one layer can still be inspected.
        using var layer = VhdDisk.Open(dir.File("c.vhd"), new DiskOpenOptions { OpenParent = false });
        Assert.Equal(ExtentState.Parent, layer.GetExtent(0).State);
        Assert.True(layer.IsReadOnly); // partial-sector writes would need the parent's data
        Assert.Throws<VirtualDiskException>(() => layer.Write(0, new byte[512]));
    }

    [Fact]
    public async Task LocatorNamingAFifo_IsSkippedInsteadOfHanging()
    {
        using var dir = new TempDir();
        MakeChain(dir.File("p.vhd"), dir.File("c.vhd"), 1);
        File.Delete(dir.File("p.vhd"));
        Qemu.Ok("/usr/bin/mkfifo", dir.File("p.vhd"));
        var open = Task.Run(() => VhdDisk.Open(dir.File("c.vhd")));
        var first = await Task.WhenAny(open, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.True(first == open, "opening hung on a FIFO parent");
        var e = await Assert.ThrowsAsync<VirtualDiskException>(() => open);
        Assert.Contains("not a file that can hold a disk", e.Message);
    }

    [Fact]
    public void ReplacedParent_IsRefusedUnlessIdentityIsIgnored()
    {
        using var dir = new TempDir();
        MakeChain(dir.File("p.vhd"), dir.File("c.vhd"), 1);
        VhdDisk.Create(dir.File("p.vhd"), new DiskCreateOptions { Format = DiskFormat.Vhd, Capacity = Capacity, Overwrite = true }).Dispose();
        var e = Assert.Throws<VirtualDiskException>(() => VhdDisk.Open(dir.File("c.vhd")));
        Assert.Contains("IgnoreParentIdentity", e.Message);
        using var child = VhdDisk.Open(dir.File("c.vhd"), new DiskOpenOptions { IgnoreParentIdentity = true });
        Assert.NotNull(child.Parent);
    }

    [Fact]
    public void LoopingChain_IsRefusedWithAClearError()
    {
        using var dir = new TempDir();
        // x <- y, then z (a child of y) is copied over x: now x -> y -> x.
        MakeChain(dir.File("x.vhd"), dir.File("y.vhd"), 1);
        using (VhdTest.Create(dir.File("z.vhd"), DiskType.Differencing, 0, dir.File("y.vhd"))) { }
        File.Copy(dir.File("z.vhd"), dir.File("x.vhd"), overwrite: true);
        foreach (var options in new[] { DiskOpenOptions.Default, new DiskOpenOptions { IgnoreParentIdentity = true } })
        {
            var e = Assert.Throws<VirtualDiskException>(() => VhdDisk.Open(dir.File("y.vhd"), options));
            Assert.Contains("loops", e.Message);
        }
        // A child that names itself as parent.
        File.Copy(dir.File("z.vhd"), dir.File("y.vhd"), overwrite: true);
        Assert.Contains("loops", Assert.Throws<VirtualDiskException>(() => VhdDisk.Open(dir.File("y.vhd"))).Message);
    }

    [Fact]
    public void CannotCreateAChildOfItself()
    {
        using var dir = new TempDir();
        using (VhdTest.Create(dir.File("a.vhd"), DiskType.Dynamic, Capacity)) { }
        Assert.Throws<ArgumentException>(() => VhdDisk.Create(dir.File("a.vhd"), new DiskCreateOptions
        {
            Format = DiskFormat.Vhd, Type = DiskType.Differencing, ParentPath = dir.File("a.vhd"), Overwrite = true,
        }));
        using var again = VhdDisk.Open(dir.File("a.vhd"));
        Assert.Equal(DiskType.Dynamic, again.Type);
    }
}
