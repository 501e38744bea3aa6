using System.Security.Cryptography;
using HyperSharp.Vhdx.Vhdx;

namespace HyperSharp.Vhdx.Tests.Vhdx;

/// <summary>MS-VHDX 2.2.2: FileWriteGuid changes before the first change to the file in a session, DataWriteGuid before the first change a reader could see.</summary>
public class VhdxWriteGuidTests
{
    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void GuidsChangeExactlyWhenTheSpecSays()
    {
        using var dir = new TempDir();
        string path = dir.File("g.vhdx");
        Guid file0, data0;
        using (var d = VhdxDisk.Create(path, new DiskCreateOptions { Capacity = 16 << 20, BlockSize = 1 << 20 })) { file0 = d.FileWriteGuid; data0 = d.DataWriteGuid; }

        string before = Hash(path);
        using (var d = VhdxDisk.Open(path)) { d.Read(0, new byte[4096]); d.Flush(); } // a writable open that only reads
        Assert.Equal(before, Hash(path));                                             // leaves the file untouched

        using (var d = VhdxDisk.Open(path)) d.Write(0, new byte[4096]);
        Guid file1, data1;
        using (var d = VhdxDisk.Open(path, DiskOpenOptions.ReadOnlyDefault)) { file1 = d.FileWriteGuid; data1 = d.DataWriteGuid; }
        Assert.NotEqual(file0, file1);
        Assert.NotEqual(data0, data1);

        using (var d = VhdxDisk.Open(path)) d.Compact();                              // moves nothing a reader can see
        using (var d = VhdxDisk.Open(path, DiskOpenOptions.ReadOnlyDefault))
        {
            Assert.NotEqual(file1, d.FileWriteGuid);
            Assert.Equal(data1, d.DataWriteGuid);
        }
    }
}
