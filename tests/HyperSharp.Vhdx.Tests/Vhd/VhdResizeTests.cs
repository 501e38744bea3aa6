using HyperSharp.Vhdx.Vhd;
using Xunit.Abstractions;

namespace HyperSharp.Vhdx.Tests.Vhd;

/// <summary>Grow and shrink for every type, with the event, reopen, and (when present) qemu's view.</summary>
public class VhdResizeTests(ITestOutputHelper output)
{
    [Fact]
    public void Fixed_GrowKeepsDataMovesFooterAndRaisesEvent()
    {
        using var dir = new TempDir();
        string path = dir.File("f.vhd");
        byte[] data = VhdTest.Pattern(4 * VhdTest.MiB, 1);
        int events = 0;
        using (var disk = VhdTest.Create(path, DiskType.Fixed, 4 * VhdTest.MiB))
        {
            disk.Write(0, data);
            disk.CapacityChanged += d => { events++; Assert.Equal(6L * VhdTest.MiB, d.Capacity); };
            disk.Resize(6 * VhdTest.MiB);
            Assert.Equal(1, events);
            Assert.Equal(6L * VhdTest.MiB, disk.Capacity);
            disk.Write(6 * VhdTest.MiB - 512, VhdTest.Pattern(512, 2));
        }
        Assert.Equal(6L * VhdTest.MiB + 512, new FileInfo(path).Length);
        using var again = VhdDisk.Open(path);
        byte[] all = VhdTest.ReadAll(again);
        Assert.Equal(data, all[..data.Length]);
        Assert.All(all[data.Length..(6 * VhdTest.MiB - 512)], b => Assert.Equal(0, b)); // old footer is gone
        Assert.Equal(VhdTest.Pattern(512, 2), all[^512..]);
    }

    [Fact]
    public void Fixed_ShrinkRefusesToDropDataUnlessAllowed()
    {
        using var dir = new TempDir();
        string path = dir.File("f.vhd");
        using var disk = VhdTest.Create(path, DiskType.Fixed, 8 * VhdTest.MiB);
        disk.Write(VhdTest.MiB, VhdTest.Pattern(512, 1));
        disk.Resize(4 * VhdTest.MiB); // nothing but zeros beyond: allowed
        disk.Write(3 * VhdTest.MiB + 5, new byte[] { 1 });
        var e = Assert.Throws<VirtualDiskException>(() => disk.Resize(2 * VhdTest.MiB));
        Assert.Contains((3 * VhdTest.MiB + 5).ToString(), e.Message);
        Assert.Equal(4L * VhdTest.MiB, disk.Capacity);
        disk.Resize(2 * VhdTest.MiB, allowDataLoss: true);
        Assert.Equal(2L * VhdTest.MiB + 512, new FileInfo(path).Length);
        using var again = VhdDisk.Open(path, DiskOpenOptions.ReadOnlyDefault);
        Assert.Equal(2L * VhdTest.MiB, again.Capacity);
        var b = new byte[512];
        again.Read(VhdTest.MiB, b);
        Assert.Equal(VhdTest.Pattern(512, 1), b);
    }

    [Fact]
    public void Dynamic_GrowWithinSpareEntriesAndBeyondMovesTheBat()
    {
        using var dir = new TempDir();
        string path = dir.File("d.vhd");
        var expected = new Dictionary<long, byte[]>();
        using (var disk = VhdTest.Create(path, DiskType.Dynamic, 64L * VhdTest.MiB))
        {
            Put(disk, expected, 63 * VhdTest.MiB, Fill(4096, 0x11));
            // 32 blocks need 32 entries; the BAT sector holds 128, so 256 MiB needs no move.
            disk.Resize(256L * VhdTest.MiB);
            Put(disk, expected, 255 * VhdTest.MiB, Fill(4096, 0x22));
            // 1 GiB needs 512 entries: the table moves to the end of the file.
            disk.Resize(1024L * VhdTest.MiB);
            Put(disk, expected, 1023 * VhdTest.MiB, Fill(4096, 0x33));
            Put(disk, expected, 300 * VhdTest.MiB, Fill(4096, 0x44));
            Check(disk, expected);
        }
        using (var again = VhdDisk.Open(path))
        {
            Assert.Equal(1024L * VhdTest.MiB, again.Capacity);
            Check(again, expected);
            Assert.Equal(ExtentState.Zero, again.GetExtent(0).State);
        }
        if (!Qemu.Available(output)) return;
        // qemu follows the moved table too (current-size sizing: 1 GiB is not CHS-exact).
        string json = $"driver=vpc,force_size_calc=current_size,file.filename={path}";
        foreach (var (offset, data) in expected)
        {
            string read = Qemu.Ok(Qemu.Io, "--image-opts", "-c", $"read -P {data[0]} {offset} {data.Length}", json);
            Assert.DoesNotContain("Pattern verification failed", read);
            Assert.Contains($"read {data.Length}/{data.Length} bytes", read);
        }
    }

    [Fact]
    public void Dynamic_ShrinkRefusesThenDropsAndRegrowsAsZeros()
    {
        using var dir = new TempDir();
        string path = dir.File("d.vhd");
        using var disk = VhdTest.Create(path, DiskType.Dynamic, 16L * VhdTest.MiB);
        disk.Write(VhdTest.MiB, VhdTest.Pattern(512, 1));
        disk.Write(5 * VhdTest.MiB + 512, VhdTest.Pattern(512, 2));  // inside the block that will straddle the new end
        disk.Write(12 * VhdTest.MiB, VhdTest.Pattern(512, 3));
        Assert.Throws<VirtualDiskException>(() => disk.Resize(5 * VhdTest.MiB + 1024));
        disk.Resize(5 * VhdTest.MiB + 1024, allowDataLoss: true);
        disk.Resize(16L * VhdTest.MiB);
        var all = VhdTest.ReadAll(disk);
        Assert.Equal(VhdTest.Pattern(512, 1), all[VhdTest.MiB..(VhdTest.MiB + 512)]);
        Assert.Equal(VhdTest.Pattern(512, 2), all[(5 * VhdTest.MiB + 512)..(5 * VhdTest.MiB + 1024)]);
        Assert.All(all[(5 * VhdTest.MiB + 1024)..], b => Assert.Equal(0, b));
        Assert.Equal(ExtentState.Zero, disk.GetExtent(8 * VhdTest.MiB).State); // block unlinked
        // Shrinking when only zeros lie beyond needs no permission.
        disk.Resize(6 * VhdTest.MiB);
        Assert.Equal(6L * VhdTest.MiB, disk.Capacity);
    }

    [Fact]
    public void Differencing_GrowPastTheParentReadsZeros()
    {
        using var dir = new TempDir();
        using (var p = VhdTest.Create(dir.File("p.vhd"), DiskType.Dynamic, 4L * VhdTest.MiB))
            p.Write(0, Enumerable.Repeat((byte)0x33, 4 * VhdTest.MiB).ToArray());
        using (var c = VhdTest.Create(dir.File("c.vhd"), DiskType.Differencing, 0, dir.File("p.vhd")))
        {
            c.Resize(8L * VhdTest.MiB);
            c.Write(7 * VhdTest.MiB, VhdTest.Pattern(512, 5));
        }
        using var again = VhdDisk.Open(dir.File("c.vhd"));
        var all = VhdTest.ReadAll(again);
        Assert.All(all[..(4 * VhdTest.MiB)], b => Assert.Equal(0x33, b));
        Assert.All(all[(4 * VhdTest.MiB)..(7 * VhdTest.MiB)], b => Assert.Equal(0, b));
        Assert.Equal(VhdTest.Pattern(512, 5), all[(7 * VhdTest.MiB)..(7 * VhdTest.MiB + 512)]);
    }

    [Fact]
    public void ResizeBeyondTheVhdMaximum_IsRefusedNamingIt()
    {
        using var dir = new TempDir();
        using var disk = VhdTest.Create(dir.File("d.vhd"), DiskType.Dynamic, VhdTest.MiB);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => disk.Resize(2041L << 30));
        Assert.Contains("2040 GiB", e.Message);
        disk.Resize(2040L << 30); // the maximum itself is fine: only the table grows
        Assert.Equal(2040L << 30, disk.Capacity);
        using var ro = VhdDisk.Open(dir.File("d.vhd"), DiskOpenOptions.ReadOnlyDefault);
        Assert.Throws<VirtualDiskException>(() => ro.Resize(2 * VhdTest.MiB));
    }

    private static byte[] Fill(int length, byte value) => Enumerable.Repeat(value, length).ToArray();

    private static void Put(IVirtualDisk disk, Dictionary<long, byte[]> expected, long offset, byte[] data)
    {
        disk.Write(offset, data);
        expected[offset] = data;
    }

    private static void Check(IVirtualDisk disk, Dictionary<long, byte[]> expected)
    {
        foreach (var (offset, data) in expected)
        {
            var b = new byte[data.Length];
            disk.Read(offset, b);
            Assert.Equal(data, b);
        }
    }
}
