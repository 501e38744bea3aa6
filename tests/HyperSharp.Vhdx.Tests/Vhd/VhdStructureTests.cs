using HyperSharp.Vhdx.Vhd;

namespace HyperSharp.Vhdx.Tests.Vhd;

/// <summary>The on-disk structures on their own: checksum, geometry, footer and header layout.</summary>
public class VhdStructureTests
{
    [Fact]
    public void Checksum_IsOnesComplementOfByteSumSkippingTheField()
    {
        var b = new byte[16];
        b[0] = 1; b[1] = 2; b[8] = 0xFF; b[9] = 0xFF; // bytes 8..11 are the checksum field: ignored
        Assert.Equal(~3u, VhdChecksum.Compute(b, 8));
    }

    [Theory]
    // Values worked through the specification's algorithm by hand.
    [InlineData(64L * 1024 * 1024, 963, 8, 17)]        // 131072 sectors: 17 sectors/track, 8 heads
    [InlineData(67125248L, 964, 8, 17)]                 // what qemu-img writes for "64M"
    [InlineData(20L * 1024 * 1024, 602, 4, 17)]        // 3 heads are raised to 4
    [InlineData(2040L * 1024 * 1024 * 1024, 65535, 16, 255)] // the maximum clamps
    public void Geometry_FollowsTheSpecAlgorithm(long capacity, int cylinders, int heads, int sectors)
    {
        var g = VhdGeometry.FromCapacity(capacity);
        Assert.Equal((cylinders, heads, sectors), (g.Cylinders, (int)g.Heads, (int)g.SectorsPerTrack));
    }

    [Fact]
    public void Footer_RoundTripsAndCarriesOurCreator()
    {
        var f = VhdFooter.New(VhdFooter.DynamicType, 10 * VhdTest.MiB, 512);
        byte[] b = f.ToBytes();
        Assert.Equal("conectix"u8.ToArray(), b[..8]);
        Assert.Equal("hysh"u8.ToArray(), b[28..32]);
        Assert.Equal(0, b[84]); // saved state
        var back = VhdFooter.Parse(b, "x", 0);
        Assert.Equal(f.CurrentSize, back.CurrentSize);
        Assert.Equal(f.UniqueId, back.UniqueId);
        Assert.Equal(f.Geometry, back.Geometry);
        Assert.Equal(VhdFooter.DynamicType, back.DiskType);
    }

    [Fact]
    public void BitmapBytes_ArePaddedToSectors()
    {
        Assert.Equal(512, VhdDynamicHeader.BitmapBytes(2 * 1024 * 1024)); // 4096 sectors = 512 bytes
        Assert.Equal(512, VhdDynamicHeader.BitmapBytes(512));
        Assert.Equal(1024, VhdDynamicHeader.BitmapBytes(4 * 1024 * 1024));
    }

    [Fact]
    public void LocatorPath_UsesBackslashesAndUtf16LittleEndian()
    {
        byte[] data = VhdParentLocator.EncodePath("./dir/p.vhd");
        Assert.Equal(System.Text.Encoding.Unicode.GetBytes(".\\dir\\p.vhd"), data);
        Assert.Equal("./dir/p.vhd", VhdParentLocator.DecodePath(data));
    }
}
