using HyperSharp.Vhdx.Vhd;

namespace HyperSharp.Vhdx.Tests.Vhd;

/// <summary>Create, write, reopen and read back all three VHD types, at any alignment.</summary>
public class VhdRoundTripTests
{
    private const long Capacity = 16L * VhdTest.MiB;

    [Theory]
    [InlineData(DiskType.Fixed)]
    [InlineData(DiskType.Dynamic)]
    public void CreateWriteReopenRead_RoundTrips(DiskType type)
    {
        using var dir = new TempDir();
        string path = dir.File("a.vhd");
        var reference = new byte[Capacity];
        using (var disk = VhdTest.Create(path, type, Capacity))
        {
            Assert.Equal(DiskFormat.Vhd, disk.Format);
            Assert.Equal(type, disk.Type);
            Assert.Equal(Capacity, disk.Capacity);
            WriteBoth(disk, reference, 0, VhdTest.Pattern(4096, 1));
            WriteBoth(disk, reference, 3 * VhdTest.MiB - 100, VhdTest.Pattern(300_000, 2)); // unaligned, crosses blocks
            WriteBoth(disk, reference, Capacity - 7, VhdTest.Pattern(7, 3));                // last bytes
            WriteBoth(disk, reference, 8 * VhdTest.MiB + 1, VhdTest.Pattern(1, 4));         // one byte
            Assert.Equal(reference, VhdTest.ReadAll(disk));
            disk.Flush();
        }
        using (var disk = VhdDisk.Open(path, DiskOpenOptions.ReadOnlyDefault))
        {
            Assert.Equal(type, disk.Type);
            Assert.Equal(reference, VhdTest.ReadAll(disk));
            var odd = new byte[1001];
            disk.Read(3 * VhdTest.MiB - 50, odd);
            Assert.Equal(reference.AsSpan((int)(3 * VhdTest.MiB - 50), 1001).ToArray(), odd);
            Assert.Throws<VirtualDiskException>(() => disk.Write(0, new byte[512]));
        }
        long expectedLength = type == DiskType.Fixed ? Capacity + 512 : new FileInfo(path).Length;
        Assert.Equal(expectedLength, new FileInfo(path).Length);
    }

    [Fact]
    public void Dynamic_LayoutHasFooterCopyAtZeroAndAllocatesOnlyWrittenBlocks()
    {
        using var dir = new TempDir();
        string path = dir.File("d.vhd");
        using (var disk = VhdTest.Create(path, DiskType.Dynamic, Capacity))
        {
            Assert.Equal(DiskCreateOptions.DefaultVhdBlockSize, disk.BlockSize);
            disk.Write(5 * VhdTest.MiB, VhdTest.Pattern(512, 9));
            Assert.Equal(new DiskExtent(0, 4 * VhdTest.MiB, ExtentState.Zero), disk.GetExtent(0));
            Assert.Equal(new DiskExtent(4 * VhdTest.MiB, 2 * VhdTest.MiB, ExtentState.Data), disk.GetExtent(4 * VhdTest.MiB));
            Assert.Equal(new DiskExtent(6 * VhdTest.MiB, Capacity - 6 * VhdTest.MiB, ExtentState.Zero), disk.GetExtent(6 * VhdTest.MiB));
        }
        byte[] file = File.ReadAllBytes(path);
        Assert.Equal(file[^512..], file[..512]);               // footer copy equals the footer
        Assert.Equal("conectix"u8.ToArray(), file[^512..^504]);
        Assert.Equal("hysh"u8.ToArray(), file[^484..^480]);    // creator application (footer offset 28)
        Assert.Equal(3, file[^449]);                           // disk type 3 = dynamic (footer offset 60, low byte 63)
        Assert.Equal(0, file[^428]);                           // saved state (footer offset 84)
        Assert.Equal("cxsparse"u8.ToArray(), file[512..520]);  // dynamic header at 512
        // header (1536) + 1 sector of BAT + 1 block (bitmap + 2 MiB) + footer
        Assert.Equal(2048 + 512 + 2 * VhdTest.MiB + 512, file.Length);
    }

    [Fact]
    public void Differencing_ReadsParentWhereNotWrittenAndOwnDataWhereWritten()
    {
        using var dir = new TempDir();
        string parentPath = dir.File("parent.vhd"), childPath = dir.File("child.vhd");
        byte[] reference = VhdTest.Pattern((int)Capacity, 5);
        using (var parent = VhdTest.Create(parentPath, DiskType.Dynamic, Capacity))
            parent.Write(0, reference);
        using (var child = VhdTest.Create(childPath, DiskType.Differencing, 0, parentPath))
        {
            Assert.Equal(DiskType.Differencing, child.Type);
            Assert.Equal(Capacity, child.Capacity);
            Assert.NotNull(child.Parent);
            Assert.Equal(reference, VhdTest.ReadAll(child));
            WriteBoth(child, reference, 1000, VhdTest.Pattern(3000, 6));                 // partial sectors
            WriteBoth(child, reference, 2 * VhdTest.MiB - 512, VhdTest.Pattern(1024, 7)); // across a block edge
            Assert.Equal(reference, VhdTest.ReadAll(child));

            // Sector bitmap: bytes 1000..3999 made sectors 1..7 (bytes 512..4095) present; sector 0 is the parent's.
            Assert.Equal(new DiskExtent(0, 512, ExtentState.Parent), child.GetExtent(0));
            Assert.Equal(new DiskExtent(512, 4096 - 512, ExtentState.Data), child.GetExtent(512));
            Assert.Equal(new DiskExtent(4096, 2 * VhdTest.MiB - 512 - 4096, ExtentState.Parent), child.GetExtent(4096));
            Assert.Equal(new DiskExtent(2 * VhdTest.MiB - 512, 1024, ExtentState.Data), child.GetExtent(2 * VhdTest.MiB - 512));
            Assert.Equal(ExtentState.Parent, child.GetExtent(8 * VhdTest.MiB).State);
        }
        using (var child = VhdDisk.Open(childPath))
            Assert.Equal(reference, VhdTest.ReadAll(child));
        // The parent is untouched.
        using (var parent = VhdDisk.Open(parentPath, DiskOpenOptions.ReadOnlyDefault))
            Assert.Equal(VhdTest.Pattern((int)Capacity, 5), VhdTest.ReadAll(parent));
    }

    [Fact]
    public void Differencing_ThreeLevelChainReadsTheNearestLayer()
    {
        using var dir = new TempDir();
        var reference = new byte[Capacity];
        using (var a = VhdTest.Create(dir.File("a.vhd"), DiskType.Fixed, Capacity)) WriteBoth(a, reference, 0, VhdTest.Pattern(6 * VhdTest.MiB, 1));
        using (var b = VhdTest.Create(dir.File("b.vhd"), DiskType.Differencing, 0, dir.File("a.vhd"))) WriteBoth(b, reference, VhdTest.MiB, VhdTest.Pattern(VhdTest.MiB, 2));
        using (var c = VhdTest.Create(dir.File("c.vhd"), DiskType.Differencing, 0, dir.File("b.vhd"))) WriteBoth(c, reference, VhdTest.MiB + 512, VhdTest.Pattern(512, 3));
        using var top = VhdDisk.Open(dir.File("c.vhd"));
        Assert.Equal(reference, VhdTest.ReadAll(top));
        Assert.Equal(DiskType.Fixed, top.Parent!.Parent!.Type);
    }

    [Theory]
    [InlineData(DiskType.Fixed)]
    [InlineData(DiskType.Dynamic)]
    [InlineData(DiskType.Differencing)]
    public void Unmap_MakesTheRangeReadZeros(DiskType type)
    {
        using var dir = new TempDir();
        string path = dir.File("u.vhd");
        byte[] reference = VhdTest.Pattern((int)Capacity, 11);
        IVirtualDisk disk;
        if (type == DiskType.Differencing)
        {
            using (var p = VhdTest.Create(dir.File("p.vhd"), DiskType.Dynamic, Capacity)) p.Write(0, reference);
            disk = VhdTest.Create(path, type, 0, dir.File("p.vhd"));
        }
        else
        {
            disk = VhdTest.Create(path, type, Capacity);
            disk.Write(0, reference);
        }
        using (disk)
        {
            disk.Write(VhdTest.MiB, VhdTest.Pattern(VhdTest.MiB, 12).AsSpan()); // some own data in the child
            VhdTest.Pattern(VhdTest.MiB, 12).CopyTo(reference, VhdTest.MiB);
            Unmap(disk, reference, 100, 5 * VhdTest.MiB);   // unaligned edges, several blocks
            Unmap(disk, reference, 9 * VhdTest.MiB + 3, 10); // inside one sector
            Assert.Equal(reference, VhdTest.ReadAll(disk));
        }
        using var again = VhdDisk.Open(path);
        Assert.Equal(reference, VhdTest.ReadAll(again));
    }

    [Fact]
    public void OutOfRangeAndWrongOptions_AreRefused()
    {
        using var dir = new TempDir();
        using var disk = VhdTest.Create(dir.File("r.vhd"), DiskType.Dynamic, Capacity);
        Assert.Throws<ArgumentOutOfRangeException>(() => disk.Read(Capacity - 1, new byte[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => disk.Write(-1, new byte[1]));
        Assert.Throws<ArgumentException>(() => VhdDisk.Create(dir.File("x.vhd"), new DiskCreateOptions { Format = DiskFormat.Vhdx, Capacity = Capacity }));
        Assert.Throws<ArgumentException>(() => VhdTest.Create(dir.File("y.vhd"), DiskType.Dynamic, Capacity, blockSize: 3 * VhdTest.MiB));
        var tooBig = Assert.Throws<ArgumentOutOfRangeException>(() => VhdTest.Create(dir.File("z.vhd"), DiskType.Dynamic, 2041L << 30));
        Assert.Contains("2040 GiB", tooBig.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => VhdTest.Create(dir.File("w.vhd"), DiskType.Fixed, 1000));
        Assert.Throws<IOException>(() => VhdTest.Create(dir.File("r.vhd"), DiskType.Dynamic, Capacity)); // exists, no Overwrite
        Assert.False(File.Exists(dir.File("y.vhd")));
    }

    [Fact]
    public void SmallBlocks_Work()
    {
        using var dir = new TempDir();
        var reference = new byte[VhdTest.MiB];
        using (var disk = VhdTest.Create(dir.File("s.vhd"), DiskType.Dynamic, VhdTest.MiB, blockSize: 4096))
        {
            WriteBoth(disk, reference, 4000, VhdTest.Pattern(10_000, 1));
            Assert.Equal(4096, disk.BlockSize);
        }
        using var again = VhdDisk.Open(dir.File("s.vhd"));
        Assert.Equal(reference, VhdTest.ReadAll(again));
    }

    private static void WriteBoth(IVirtualDisk disk, byte[] reference, long offset, byte[] data)
    {
        disk.Write(offset, data);
        data.CopyTo(reference, offset);
    }

    private static void Unmap(IVirtualDisk disk, byte[] reference, long offset, int length)
    {
        disk.Unmap(offset, length);
        Array.Clear(reference, (int)offset, length);
    }
}
