using HyperSharp.Vhdx.Vhdx;

namespace HyperSharp.Vhdx.Tests.Vhdx;

public class VhdxBasicTests
{
    private static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    [Theory]
    [InlineData(DiskType.Dynamic, 1 << 20, 512)]
    [InlineData(DiskType.Dynamic, 32 << 20, 4096)]
    [InlineData(DiskType.Fixed, 2 << 20, 512)]
    public void WrittenDataReadsBackAfterReopen(DiskType type, int blockSize, int sector)
    {
        using var dir = new TempDir();
        string path = dir.File("a.vhdx");
        var data = Pattern(3 << 20, 1);
        using (var disk = VhdxDisk.Create(path, new DiskCreateOptions { Type = type, Capacity = 64 << 20, BlockSize = blockSize, LogicalSectorSize = sector }))
        {
            disk.Write(5 << 20, data);
            disk.Write(12345, data.AsSpan(0, 777)); // unaligned
            disk.Flush();
        }
        using (var disk = VhdxDisk.Open(path))
        {
            Assert.Equal(type, disk.Type);
            Assert.Equal(64 << 20, disk.Capacity);
            var back = new byte[data.Length];
            disk.Read(5 << 20, back);
            Assert.Equal(data, back);
            var small = new byte[777];
            disk.Read(12345, small);
            Assert.Equal(data.AsSpan(0, 777).ToArray(), small);
            var zeros = new byte[4096];
            disk.Read(40 << 20, zeros);
            Assert.All(zeros, b => Assert.Equal(0, b));
        }
    }

    [Fact]
    public void DifferencingDiskReadsParentAndOwnWrites()
    {
        using var dir = new TempDir();
        string parentPath = dir.File("parent.vhdx"), childPath = dir.File("child.avhdx");
        var baseData = Pattern(8 << 20, 2);
        using (var parent = VhdxDisk.Create(parentPath, new DiskCreateOptions { Capacity = 16 << 20, BlockSize = 1 << 20 }))
            parent.Write(0, baseData);
        using (var child = VhdxDisk.Create(childPath, new DiskCreateOptions { Type = DiskType.Differencing, ParentPath = parentPath }))
        {
            Assert.Equal(16 << 20, child.Capacity);
            child.Write(4096, new byte[512]); // zeros over parent data, partial block
        }
        using (var child = VhdxDisk.Open(childPath))
        {
            Assert.Equal(DiskType.Differencing, child.Type);
            var back = new byte[8 << 20];
            child.Read(0, back);
            var expected = (byte[])baseData.Clone();
            Array.Clear(expected, 4096, 512);
            Assert.Equal(expected, back);
        }
    }
}
