using System.Security.Cryptography;
using HyperSharp.Vhdx.Vhd;

namespace HyperSharp.Vhdx.Tests.Vhd;

/// <summary>
/// Bad and hostile images: each must be refused with a <see cref="CorruptImageException"/> naming
/// the structure and file offset, and the file must be left exactly as it was.
/// </summary>
public class VhdCorruptImageTests
{
    private const long Capacity = 8L * VhdTest.MiB;
    private const long BatOffset = 1536;

    private static string NewDynamic(TempDir dir, int blocksToWrite = 2, string name = "bad.vhd")
    {
        string path = dir.File(name);
        using var disk = VhdTest.Create(path, DiskType.Dynamic, Capacity);
        for (int b = 0; b < blocksToWrite; b++) disk.Write(b * 2L * VhdTest.MiB, VhdTest.Pattern(512, b));
        return path;
    }

    /// <summary>Opening (read-write, the dangerous way) fails as expected and writes nothing.</summary>
    private static CorruptImageException AssertCorrupt(string path, string structure, long? offset = null, string? says = null)
    {
        byte[] before = SHA256.HashData(File.ReadAllBytes(path));
        var e = Assert.Throws<CorruptImageException>(() => VhdDisk.Open(path));
        Assert.Contains(structure, e.Structure);
        if (offset is not null) Assert.Equal(offset.Value, e.FileOffset);
        if (says is not null) Assert.Contains(says, e.Message);
        Assert.Contains(path, e.Message);
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(path)));
        return e;
    }

    [Fact]
    public void BadFooterCookie()
    {
        using var dir = new TempDir();
        string path = NewDynamic(dir);
        VhdTest.PatchFooter(path, b => b[0] = (byte)'X');
        AssertCorrupt(path, "VHD footer", new FileInfo(path).Length - 512, "conectix");
    }

    [Fact]
    public void BadFooterChecksum()
    {
        using var dir = new TempDir();
        string path = NewDynamic(dir);
        VhdTest.PatchFooter(path, b => b[100] ^= 1, fixChecksum: false);
        AssertCorrupt(path, "VHD footer", new FileInfo(path).Length - 512 + 64, "checksum");
    }

    [Fact]
    public void TruncatedFiles()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("tiny.vhd"), new byte[100]);
        AssertCorrupt(dir.File("tiny.vhd"), "VHD footer", 0, "truncated");

        // A fixed disk whose data was cut: the footer survives at the end, the data does not.
        string path = dir.File("fixed.vhd");
        using (VhdTest.Create(path, DiskType.Fixed, Capacity)) { }
        byte[] footer = File.ReadAllBytes(path)[^512..];
        File.WriteAllBytes(path, [.. new byte[4096], .. footer]);
        AssertCorrupt(path, "VHD footer", says: "truncated");

        // A dynamic disk cut inside its BAT.
        path = NewDynamic(dir);
        byte[] whole = File.ReadAllBytes(path);
        File.WriteAllBytes(path, [.. whole[..1600], .. whole[^512..]]);
        AssertCorrupt(path, "", says: "outside the file");
    }

    [Fact]
    public void AbsurdCapacity()
    {
        using var dir = new TempDir();
        string path = NewDynamic(dir);
        VhdTest.PatchFooter(path, b => VhdTest.WriteBigEndian(b, 48, 2041UL << 30));
        AssertCorrupt(path, "VHD footer", new FileInfo(path).Length - 512 + 48, "2040 GiB");
        VhdTest.PatchFooter(path, b => VhdTest.WriteBigEndian(b, 48, 1000UL));
        AssertCorrupt(path, "VHD footer", says: "multiple of 512");
    }

    [Fact]
    public void DataOffsetOutsideTheFile()
    {
        using var dir = new TempDir();
        string path = NewDynamic(dir);
        VhdTest.PatchFooter(path, b => VhdTest.WriteBigEndian(b, 16, 1UL << 40));
        AssertCorrupt(path, "VHD footer", new FileInfo(path).Length - 512 + 16, "dynamic header offset");
    }

    [Fact]
    public void BadDynamicHeader()
    {
        using var dir = new TempDir();
        string path = NewDynamic(dir);
        VhdTest.PatchHeader(path, b => b[1] = (byte)'Y');
        AssertCorrupt(path, "VHD dynamic header", 512, "cxsparse");

        path = NewDynamic(dir, name: "bad2.vhd");
        VhdTest.PatchHeader(path, b => b[200] ^= 1, fixChecksum: false);
        AssertCorrupt(path, "VHD dynamic header", 512 + 36, "checksum");
    }

    [Fact]
    public void BlockSizeNotAPowerOfTwo()
    {
        using var dir = new TempDir();
        string path = NewDynamic(dir);
        VhdTest.PatchHeader(path, b => VhdTest.WriteBigEndian(b, 32, 3u * 1024 * 1024));
        AssertCorrupt(path, "VHD dynamic header", 512 + 32, "power of two");
    }

    [Fact]
    public void AbsurdBatSizeOrPlace()
    {
        using var dir = new TempDir();
        string path = NewDynamic(dir);
        VhdTest.PatchHeader(path, b => VhdTest.WriteBigEndian(b, 28, 0x7FFFFFFFu));
        AssertCorrupt(path, "VHD dynamic header", 512 + 28, "max table entries");
        VhdTest.PatchHeader(path, b => { VhdTest.WriteBigEndian(b, 28, 128u); VhdTest.WriteBigEndian(b, 16, 1UL << 40); });
        AssertCorrupt(path, "VHD dynamic header", 512 + 16, "outside the file");
        VhdTest.PatchHeader(path, b => { VhdTest.WriteBigEndian(b, 28, 2u); VhdTest.WriteBigEndian(b, 16, 1536UL); });
        AssertCorrupt(path, "VHD dynamic header", 512 + 28, "cover less");
    }

    [Fact]
    public void BatEntryPointingOutsideTheFile()
    {
        using var dir = new TempDir();
        string path = NewDynamic(dir);
        VhdTest.PatchBytes(path, BatOffset + 4 * 3, [0x00, 0xFF, 0xFF, 0x00]);
        AssertCorrupt(path, "BAT entry 3", BatOffset + 12, "past the end");
    }

    [Fact]
    public void BatEntryPointingIntoTheHeaderOrBat()
    {
        using var dir = new TempDir();
        string path = NewDynamic(dir);
        VhdTest.PatchBytes(path, BatOffset + 4 * 2, [0, 0, 0, 1]); // block at 512: the dynamic header
        AssertCorrupt(path, "BAT entry 2", BatOffset + 8, "dynamic header");
        VhdTest.PatchBytes(path, BatOffset + 4 * 2, [0, 0, 0, 3]); // block at 1536: the BAT itself
        AssertCorrupt(path, "BAT entry 2", BatOffset + 8, "BAT");
    }

    [Fact]
    public void TwoBatEntriesSharingABlock()
    {
        using var dir = new TempDir();
        string path = NewDynamic(dir);
        byte[] entry0 = File.ReadAllBytes(path)[(int)BatOffset..(int)(BatOffset + 4)];
        VhdTest.PatchBytes(path, BatOffset + 4, entry0);
        AssertCorrupt(path, "BAT entry", says: "overlaps the block of BAT entry");
    }

    [Fact]
    public void HostileParentLocators()
    {
        using var dir = new TempDir();
        using (VhdTest.Create(dir.File("p.vhd"), DiskType.Dynamic, Capacity)) { }
        string child = dir.File("c.vhd");
        using (VhdTest.Create(child, DiskType.Differencing, 0, dir.File("p.vhd"))) { }
        const int locator0 = 512 + 576;
        VhdTest.PatchHeader(child, b => VhdTest.WriteBigEndian(b, 576 + 16, 1UL << 50));
        AssertCorrupt(child, "parent locator 0", locator0 + 16, "outside the file");
        VhdTest.PatchHeader(child, b => { VhdTest.WriteBigEndian(b, 576 + 16, 2048UL); VhdTest.WriteBigEndian(b, 576 + 8, 0x7FFFFFF0u); });
        AssertCorrupt(child, "parent locator 0", locator0 + 8, "larger than any path");
        VhdTest.PatchHeader(child, b => { VhdTest.WriteBigEndian(b, 576 + 24 + 8, 4096u); VhdTest.WriteBigEndian(b, 576 + 8, 24u); VhdTest.WriteBigEndian(b, 576 + 24 + 16, ulong.MaxValue); });
        AssertCorrupt(child, "parent locator 1", locator0 + 24 + 16);
    }

    [Fact]
    public void RandomDamage_NeverCrashesHangsOrWrites()
    {
        using var dir = new TempDir();
        string clean = NewDynamic(dir, blocksToWrite: 3);
        byte[] original = File.ReadAllBytes(clean);
        var rng = new Random(1234);
        string path = dir.File("fuzz.vhd");
        int opened = 0, refused = 0;
        for (int i = 0; i < 150; i++)
        {
            byte[] image = (byte[])original.Clone();
            int flips = rng.Next(1, 8);
            for (int f = 0; f < flips; f++)
            {
                // Damage the metadata (first 4 KiB: footer copy, header, BAT) and the footer.
                int at = rng.Next(2) == 0 ? rng.Next(4096) : image.Length - 512 + rng.Next(512);
                image[at] = (byte)rng.Next(256);
            }
            File.WriteAllBytes(path, image);
            if (i % 2 == 0)
            {
                // Half the time, make the checksums agree so the damage reaches the deeper checks.
                VhdTest.PatchHeader(path, _ => { });
                VhdTest.PatchFooter(path, _ => { });
                image = File.ReadAllBytes(path);
            }
            try
            {
                using var disk = VhdDisk.Open(path);
                long at = 0;
                while (at < disk.Capacity) at += disk.GetExtent(at).Length;
                var buffer = new byte[VhdTest.MiB];
                for (long o = 0; o + buffer.Length <= disk.Capacity; o += buffer.Length) disk.Read(o, buffer);
                opened++;
            }
            catch (VirtualDiskException) { refused++; }
            Assert.Equal(image, File.ReadAllBytes(path));
        }
        // Both outcomes happen: the damage is not all caught by one checksum, nor all harmless.
        Assert.True(opened > 0 && refused > 0, $"opened {opened}, refused {refused}");
    }

}
