using System.Buffers.Binary;
using HyperSharp.Vhdx.Vhdx;
using Xunit.Abstractions;
using static HyperSharp.Vhdx.Tests.Vhdx.ImageSurgery;

namespace HyperSharp.Vhdx.Tests.Vhdx;

/// <summary>
/// Damaged and hostile images: each must be refused with a CorruptImageException (a
/// VirtualDiskException) naming the structure and its file offset — never another exception type,
/// a hang, or a write to the file during a read-only open attempt (fingerprinted before and after).
/// </summary>
public class VhdxBadInputTests(ITestOutputHelper output)
{
    /// <summary>Damage applied to a fresh 16 MiB dynamic image, and the structure the error must name.</summary>
    private static readonly Dictionary<string, (Action<string> Damage, string Structure)> Cases = new()
    {
        // Truncation at several points.
        ["truncated to 0 bytes"] = (p => SetLength(p, 0), "file type identifier"), // no signature at all: not a VHDX
        ["truncated to 100 bytes"] = (p => SetLength(p, 100), "header section"),
        ["truncated inside header 1"] = (p => SetLength(p, 64 * 1024 + 100), "header section"),
        ["truncated to 1 MiB - 1"] = (p => SetLength(p, MiB - 1), "header section"),
        ["truncated inside the log"] = (p => SetLength(p, MiB + 4096), "header"),
        ["truncated inside the metadata region"] = (p => SetLength(p, 2 * MiB + 70_000), "metadata region"),
        ["truncated inside the BAT"] = (p => SetLength(p, 3 * MiB + 4096), "BAT region"),
        ["truncated inside the last payload block"] = (p => SetLength(p, new FileInfo(p).Length - 300_000), "BAT entry"),

        // Wrong signatures.
        ["file identifier signature"] = (p => Write(p, 0, "vhdxfilX"u8), "file type identifier"),
        ["both header signatures"] = (p => { Write(p, VhdxFormat.Header1Offset, "hexd"u8); Write(p, VhdxFormat.Header2Offset, "hexd"u8); }, "headers"),
        ["both region table signatures"] = (p => { Write(p, VhdxFormat.RegionTable1Offset, "regx"u8); Write(p, VhdxFormat.RegionTable2Offset, "regx"u8); }, "region tables"),
        ["metadata table signature"] = (p => Write(p, MetadataOffset, "metadatX"u8), "metadata table"),

        // Bad checksums.
        ["both header CRCs"] = (p => { Write(p, VhdxFormat.Header1Offset + 200, [1]); Write(p, VhdxFormat.Header2Offset + 200, [1]); }, "headers"),
        ["both region table CRCs"] = (p => { Write(p, VhdxFormat.RegionTable1Offset + 4, [0xEE]); Write(p, VhdxFormat.RegionTable2Offset + 4, [0xEE]); }, "region tables"),
        ["header version 2 (valid CRC)"] = (p => EditBothHeaders(p, b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(66), 2)), "header"),
        ["header log beyond the file (valid CRC)"] = (p => EditBothHeaders(p, b => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(72), 1UL << 40)), "header"),
        ["header log length 0 (valid CRC)"] = (p => EditBothHeaders(p, b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(68), 0)), "header"),
        ["header log inside the header section (valid CRC)"] = (p => EditBothHeaders(p, b => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(72), 0)), "header"),

        // BAT entries pointing where they must not.
        ["BAT entry beyond the end of the file"] = (p => SetBatEntry(p, 1, BlockState.FullyPresent, 1L << 40), "BAT entry 1"),
        ["BAT entry just past the end of the file"] = (p => SetBatEntry(p, 2, BlockState.FullyPresent, new FileInfo(p).Length), "BAT entry 2"),
        ["BAT entry into the header section"] = (p => SetBatEntry(p, 3, BlockState.FullyPresent, 0), "BAT entry 3"),
        ["BAT entry into the log"] = (p => SetBatEntry(p, 4, BlockState.FullyPresent, LogOffset), "BAT entry 4"),
        ["BAT entry into the metadata region"] = (p => SetBatEntry(p, 6, BlockState.FullyPresent, MetadataOffset), "BAT entry 6"),
        ["BAT entry into the BAT"] = (p => SetBatEntry(p, 7, BlockState.FullyPresent, BatOffset), "BAT entry 7"),
        ["BAT entry with state 4"] = (p => WriteUInt64(p, BatOffset + 8 * 8, 4), "BAT entry 8"),
        ["BAT partially present in a dynamic disk"] = (p => SetBatEntry(p, 9, BlockState.PartiallyPresent, PayloadOffset), "BAT entry 9"),
        ["BAT entries sharing one block"] = (p => SetBatEntry(p, 10, BlockState.FullyPresent, BatEntry.FileOffset(ReadBat(p, 0))), "BAT entry"),
        ["BAT entry overlapping the next block"] = (p => SetBatEntry(p, 11, BlockState.FullyPresent, BatEntry.FileOffset(ReadBat(p, 5))), "BAT entry"),

        // Absurd sizes and parameters in the metadata items.
        ["virtual size 64 TiB + 1 MiB"] = (p => WriteUInt64(p, ItemOffset(p, VhdxFormat.VirtualDiskSizeItem), (64UL << 40) + (1 << 20)), "metadata items"),
        ["virtual size 2^63"] = (p => WriteUInt64(p, ItemOffset(p, VhdxFormat.VirtualDiskSizeItem), 1UL << 63), "metadata items"),
        ["virtual size 0"] = (p => WriteUInt64(p, ItemOffset(p, VhdxFormat.VirtualDiskSizeItem), 0), "metadata items"),
        ["virtual size not a sector multiple"] = (p => WriteUInt64(p, ItemOffset(p, VhdxFormat.VirtualDiskSizeItem), 16 * MiB + 100), "metadata items"),
        ["virtual size larger than the BAT holds"] = (p => WriteUInt64(p, ItemOffset(p, VhdxFormat.VirtualDiskSizeItem), 1UL << 40), "BAT region"),
        ["block size 3 MiB"] = (p => WriteUInt32(p, ItemOffset(p, VhdxFormat.FileParametersItem), 3 << 20), "metadata items"),
        ["block size 0"] = (p => WriteUInt32(p, ItemOffset(p, VhdxFormat.FileParametersItem), 0), "metadata items"),
        ["block size 512 MiB"] = (p => WriteUInt32(p, ItemOffset(p, VhdxFormat.FileParametersItem), 512u << 20), "metadata items"),
        ["block size 2^31 + 1 MiB"] = (p => WriteUInt32(p, ItemOffset(p, VhdxFormat.FileParametersItem), 0x80100000), "metadata items"),
        ["logical sector 1000"] = (p => WriteUInt32(p, ItemOffset(p, VhdxFormat.LogicalSectorSizeItem), 1000), "metadata items"),
        ["physical sector 0"] = (p => WriteUInt32(p, ItemOffset(p, VhdxFormat.PhysicalSectorSizeItem), 0), "metadata items"),

        // Hostile region tables (validly checksummed).
        ["region entries overlapping"] = (p => WriteRegionTables(p, [BatRegion(), MetadataRegion(BatOffset)]), "region tables"),
        ["region table of 5000 entries"] = (p => WriteRegionTables(p, [BatRegion(), MetadataRegion()], 5000), "region tables"),
        ["region table count 2^32-1"] = (p => WriteRegionTables(p, [BatRegion(), MetadataRegion()], uint.MaxValue), "region tables"),
        ["unknown required region"] = (p => WriteRegionTables(p, [BatRegion(), MetadataRegion(), new(Guid.NewGuid(), 8 * MiB, (uint)MiB, true)]), "region table entry 2"),
        ["region over the log"] = (p => WriteRegionTables(p, [BatRegion(LogOffset), MetadataRegion()]), "region table entry 0"),
        ["region in the header section"] = (p => WriteRegionTables(p, [BatRegion(0), MetadataRegion()]), "region tables"),
        ["region offset not 1 MiB aligned"] = (p => WriteRegionTables(p, [BatRegion(BatOffset + 4096), MetadataRegion()]), "region tables"),
        ["region offset 2^63 - 1 MiB"] = (p => WriteRegionTables(p, [BatRegion(long.MaxValue - (long)MiB + 1), MetadataRegion()]), "region tables"),
        ["region offset 2^61"] = (p => WriteRegionTables(p, [BatRegion(1L << 61), MetadataRegion()]), "BAT region"),
        ["region repeated"] = (p => WriteRegionTables(p, [BatRegion(), MetadataRegion(), BatRegion(8 * MiB)]), "region tables"),
        ["no BAT region"] = (p => WriteRegionTables(p, [MetadataRegion()]), "region table"),
        ["no metadata region"] = (p => WriteRegionTables(p, [BatRegion()]), "region table"),
        ["BAT region beyond the end of the file"] = (p => WriteRegionTables(p, [BatRegion(1L << 40), MetadataRegion()]), "BAT region"),
        ["metadata region length 0"] = (p => WriteRegionTables(p, [BatRegion(), MetadataRegion(MetadataOffset, 0)]), "region tables"),
        ["BAT region too small for the disk"] = (p => WriteUInt64(p, ItemOffset(p, VhdxFormat.VirtualDiskSizeItem), 200UL << 30), "BAT region"),

        // Hostile metadata tables (the metadata table has no checksum).
        ["metadata entry count 3000"] = (p => WriteUInt32(p, MetadataOffset + 8, 3000u << 16), "metadata table"),
        ["metadata item outside the region"] = (p => WriteUInt32(p, MetadataEntryOffset(0) + 16, (uint)MiB - 4), "metadata table"),
        ["metadata item offset 2^32-1"] = (p => WriteUInt32(p, MetadataEntryOffset(1) + 16, uint.MaxValue), "metadata table"),
        ["metadata item length 2^32-1"] = (p => WriteUInt32(p, MetadataEntryOffset(1) + 20, uint.MaxValue), "metadata table"),
        ["metadata item inside the table"] = (p => WriteUInt32(p, MetadataEntryOffset(1) + 16, 32), "metadata table"),
        ["metadata items overlapping"] = (p => Write(p, MetadataEntryOffset(1) + 16, Read(p, MetadataEntryOffset(0) + 16, 4)), "metadata table"),
        ["metadata item repeated"] = (p => Write(p, MetadataEntryOffset(2), Read(p, MetadataEntryOffset(1), 16)), "metadata table"),
        ["virtual size item missing"] = (p => Write(p, MetadataEntryOffset(FindItem(p, VhdxFormat.VirtualDiskSizeItem)), Guid.NewGuid().ToByteArray()), "metadata table"),
        ["unknown required metadata item"] = (p => WriteUInt32(p, MetadataOffset + 8, 6u << 16) /* count 6 */ , "metadata table"),
        ["virtual size item of 4 bytes"] = (p => WriteUInt32(p, MetadataEntryOffset(FindItem(p, VhdxFormat.VirtualDiskSizeItem)) + 20, 4), "virtual disk size"),
        ["file parameters item of 0 bytes"] = (p => WriteUInt64(p, MetadataEntryOffset(FindItem(p, VhdxFormat.FileParametersItem)) + 16, 0), "file parameters"),
        ["has-parent flag without a parent locator"] = (p => WriteUInt32(p, ItemOffset(p, VhdxFormat.FileParametersItem) + 4, 2), "metadata table"),
    };

    public static IEnumerable<object[]> CaseNames() => Cases.Keys.Select(k => new object[] { k });

    private static ulong ReadBat(string path, long index) => BinaryPrimitives.ReadUInt64LittleEndian(Read(path, BatOffset + index * 8, 8));

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void DamagedImageIsRefusedClearly(string name)
    {
        using var dir = new TempDir();
        string path = MakeDynamic(dir);
        if (name == "unknown required metadata item")
        {
            // A sixth entry: an unknown, non-user item flagged required.
            var e = new byte[32];
            Guid.NewGuid().TryWriteBytes(e);
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(16), 0x20000);
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(20), 8);
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(24), 4);
            Write(path, MetadataEntryOffset(5), e);
        }
        var (damage, structure) = Cases[name];
        damage(path);
        var c = ExpectCorrupt(path, structure, output);
        output.WriteLine($"{name}: structure '{c.Structure}', offset 0x{c.FileOffset:X}");
        // A writable open must refuse the same way (and not repair or extend the file behind our back).
        var w = TryOpenAndRead(path, DiskOpenOptions.Default);
        Assert.IsAssignableFrom<CorruptImageException>(w);
    }

    [Fact]
    public void OneDamagedHeaderOrRegionTableFallsBackToTheOther()
    {
        using var dir = new TempDir();
        string path = MakeDynamic(dir);
        byte[] expected;
        using (var d = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault)) expected = PeerTools.ReadAll(d);
        Write(path, VhdxFormat.Header2Offset + 300, [0x42]); // header 2 (the current one) fails its CRC
        Write(path, VhdxFormat.RegionTable1Offset + 100, [0x42]); // region table 1 fails its CRC
        Assert.Null(TryOpenAndRead(path));
        using (var d = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault))
            PeerTools.AssertSameBytes(expected, PeerTools.ReadAll(d), "with header 1 and region table 2");
        using (var d = VirtualDisk.Open(path)) d.Write(0, new byte[512]); // writable: headers rewritten
        expected.AsSpan(0, 512).Clear();
        using (var d = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault))
            PeerTools.AssertSameBytes(expected, PeerTools.ReadAll(d), "after a write");
    }

    /// <summary>A huge metadata region (valid offsets, sparse file) must be refused, not allocated.</summary>
    [Fact]
    public void HugeMetadataRegionIsRefused()
    {
        using var dir = new TempDir();
        string path = MakeDynamic(dir);
        SetLength(path, 2 * MiB + 0xFFF00000L + MiB);
        // The BAT moves out of the way of the 4 GiB metadata region.
        WriteRegionTables(path, [BatRegion(2 * MiB + 0xFFF00000L), MetadataRegion(MetadataOffset, 0xFFF00000)]);
        var e = TryOpenAndRead(path, output: output);
        Assert.NotNull(e);
    }

    /// <summary>
    /// An unmapped block may keep its old file offset for reuse; a hostile offset (over the BAT, the
    /// log, the metadata, another block's data, or beyond the file) must not be reused by a write.
    /// </summary>
    [Theory]
    [InlineData(BatOffset)]
    [InlineData(LogOffset)]
    [InlineData(MetadataOffset)]
    [InlineData(PayloadOffset)] // block 0's data
    [InlineData(1L << 40)]
    public void UnmappedBlockWithHostileOffsetIsNotReusedOverOtherData(long offset)
    {
        using var dir = new TempDir();
        string path = MakeDynamic(dir);
        byte[] expected;
        using (var d = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault)) expected = PeerTools.ReadAll(d);
        SetBatEntry(path, 8, BlockState.Unmapped, offset);
        Assert.Null(TryOpenAndRead(path));
        var data = Pattern((int)MiB, 88);
        using (var d = VirtualDisk.Open(path)) d.Write(8 * MiB, data);
        data.CopyTo(expected, 8 * MiB);
        using (var d = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault))
            PeerTools.AssertSameBytes(expected, PeerTools.ReadAll(d), $"after writing the unmapped block whose offset was 0x{offset:X}");
        if (PeerTools.Available(output)) PeerTools.AssertCheckClean(path);
    }

    /// <summary>
    /// An optional region the engine does not know, placed far beyond the end of the file: it may be
    /// ignored or refused, but a write that allocates a block must not then fail with a non-disk
    /// exception (the allocator must not place blocks after it) or corrupt the image.
    /// </summary>
    [Theory]
    [InlineData(1L << 40)]
    [InlineData(1L << 50)]
    [InlineData(1L << 61)]
    public void OptionalRegionFarBeyondTheFileDoesNotBreakAllocation(long regionOffset)
    {
        using var dir = new TempDir();
        string path = MakeDynamic(dir);
        WriteRegionTables(path, [BatRegion(), MetadataRegion(), new(Guid.NewGuid(), regionOffset, (uint)MiB, false)]);
        var e = TryOpenAndRead(path, output: output);
        if (e is not null)
        {
            Assert.Contains("region table entry 2", Assert.IsType<CorruptImageException>(e).Structure);
            return; // refused cleanly: fine
        }
        byte[] expected;
        using (var d = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault)) expected = PeerTools.ReadAll(d);
        var data = Pattern((int)MiB, 5);
        Exception? caught = null;
        try
        {
            using var d = VirtualDisk.Open(path);
            d.Write(9 * MiB, data);
            data.CopyTo(expected, 9 * MiB);
        }
        catch (Exception x) { caught = x; }
        Assert.True(caught is null or VirtualDiskException, $"writing to an image with an optional region at 0x{regionOffset:X} threw {caught}");
        Assert.True(new FileInfo(path).Length < 1L << 32, $"the file grew to {new FileInfo(path).Length} bytes");
        using (var d = VirtualDisk.Open(path, DiskOpenOptions.ReadOnlyDefault))
            PeerTools.AssertSameBytes(expected, PeerTools.ReadAll(d), "after the write");
    }

    // ---------- Parent chains ----------

    /// <summary>Rewrites a differencing disk's parent locator (the metadata region has no checksum).</summary>
    private static void RewriteLocator(string child, Dictionary<string, string> entries)
    {
        var locator = new ParentLocator();
        foreach (var (k, v) in entries) locator.Entries[k] = v;
        var bytes = locator.Serialize();
        int i = FindItem(child, VhdxFormat.ParentLocatorItem);
        Write(child, ItemOffset(child, VhdxFormat.ParentLocatorItem), bytes);
        WriteUInt32(child, MetadataEntryOffset(i) + 20, (uint)bytes.Length);
    }

    [Fact]
    public void ParentChainLoopIsRefused()
    {
        using var dir = new TempDir();
        string parent = MakeDynamic(dir);
        string a = MakeChild(dir, parent, "a.avhdx");
        string b = MakeChild(dir, a, "b.avhdx");
        Guid bGuid;
        using (var d = VhdxDisk.Open(b, DiskOpenOptions.ReadOnlyDefault with { OpenParent = false })) bGuid = d.DataWriteGuid;
        // a's parent is now b, whose parent is a: a loop of two.
        RewriteLocator(a, new() { ["parent_linkage"] = bGuid.ToString("B"), ["relative_path"] = @".\b.avhdx" });
        foreach (var start in new[] { a, b })
        {
            var e = TryOpenAndRead(start, output: output);
            Assert.NotNull(e);
            Assert.Contains("loops", e!.Message);
        }
    }

    [Fact]
    public void ParentChainSelfLoopIsRefused()
    {
        using var dir = new TempDir();
        string parent = MakeDynamic(dir);
        string a = MakeChild(dir, parent, "a.avhdx");
        RewriteLocator(a, new() { ["parent_linkage"] = Guid.NewGuid().ToString("B"), ["relative_path"] = "a.avhdx", ["absolute_win32_path"] = @"\\?\" + a.TrimStart('/').Replace('/', '\\') });
        var e = TryOpenAndRead(a, output: output);
        Assert.NotNull(e);
        Assert.Contains("loops", e!.Message);
    }

    [Theory]
    [InlineData("no linkage")]
    [InlineData("entry count 60000")]
    [InlineData("key outside the item")]
    [InlineData("odd key length")]
    [InlineData("wrong locator type")]
    [InlineData("NUL in the relative path")]
    [InlineData("missing parent")]
    [InlineData("windows drive path only")]
    [InlineData("parent is not a VHDX")]
    [InlineData("parent with 4096-byte sectors")]
    public void HostileParentLocatorIsRefused(string variant)
    {
        using var dir = new TempDir();
        string parent = MakeDynamic(dir);
        string a = MakeChild(dir, parent, "a.avhdx");
        long at = ItemOffset(a, VhdxFormat.ParentLocatorItem);
        switch (variant)
        {
            case "no linkage": RewriteLocator(a, new() { ["relative_path"] = "base.vhdx" }); break;
            case "entry count 60000": Write(a, at + 18, [0x60, 0xEA]); break;
            case "key outside the item": WriteUInt32(a, at + 20, 0x7FFF_FFF0); break;
            case "odd key length": Write(a, at + 20 + 8, [3, 0]); break;
            case "wrong locator type": Write(a, at, Guid.NewGuid().ToByteArray()); break;
            case "NUL in the relative path": RewriteLocator(a, new() { ["parent_linkage"] = Guid.NewGuid().ToString("B"), ["relative_path"] = "base\0.vhdx" }); break;
            case "missing parent": File.Delete(parent); break;
            case "windows drive path only":
                RewriteLocator(a, new() { ["parent_linkage"] = Guid.NewGuid().ToString("B"), ["absolute_win32_path"] = @"C:\vms\base.vhdx" });
                break;
            case "parent is not a VHDX": File.WriteAllBytes(parent, new byte[16 * MiB]); break;
            case "parent with 4096-byte sectors":
                File.Delete(parent);
                MakeDynamic(dir, "base.vhdx", 4096);
                break;
        }
        var e = TryOpenAndRead(a, output: output);
        Assert.NotNull(e);
        if (variant is "no linkage" or "entry count 60000" or "key outside the item" or "odd key length" or "wrong locator type" or "NUL in the relative path")
            Assert.Contains("parent locator", Assert.IsType<CorruptImageException>(e).Structure);
    }

    // ---------- Hostile logs ----------

    /// <summary>A pending log that is valid, as the baseline the hostile variants depart from: it maps block 7 to new data.</summary>
    private static (string Path, Guid LogGuid, byte[] BatPage, long NewBlock) PendingLogImage(TempDir dir)
    {
        string path = MakeDynamic(dir);
        long length = new FileInfo(path).Length;
        Write(path, length, Pattern((int)MiB, 77)); // the block's data, durable before the log names it
        var batPage = Read(path, BatOffset, 4096);
        BinaryPrimitives.WriteUInt64LittleEndian(batPage.AsSpan(7 * 8), BatEntry.Make(BlockState.FullyPresent, length));
        return (path, Guid.NewGuid(), batPage, length);
    }

    [Fact]
    public void ValidPendingLogReplaysReadOnlyWithoutWriting()
    {
        using var dir = new TempDir();
        var (path, guid, page, block) = PendingLogImage(dir);
        long length = new FileInfo(path).Length;
        InstallLog(path, guid, DataEntry(guid, 5, length, length, new LogPage(BatOffset, page)));
        Assert.Null(TryOpenAndRead(path)); // read-only: replays in memory, the file is unchanged (checked inside)
        var back = new byte[MiB];
        using (var d = VhdxDisk.Open(path, DiskOpenOptions.ReadOnlyDefault))
        {
            Assert.True(d.ReplayedLog);
            d.Read(7 * MiB, back);
        }
        Assert.Equal(Pattern((int)MiB, 77), back);
        using (var d = VhdxDisk.Open(path)) Assert.True(d.ReplayedLog); // writable: replayed into the file
        Assert.Equal(Guid.Empty, CurrentHeader(path).LogGuid);
        using (var d = VhdxDisk.Open(path, DiskOpenOptions.ReadOnlyDefault))
        {
            Assert.False(d.ReplayedLog);
            d.Read(7 * MiB, back);
        }
        Assert.Equal(Pattern((int)MiB, 77), back);
        if (PeerTools.Available(output)) PeerTools.AssertCheckClean(path);
    }

    [Theory]
    [InlineData("bad entry checksum")]
    [InlineData("no entry at all")]
    [InlineData("entry of another log")]
    [InlineData("descriptor into the file identifier")]
    [InlineData("descriptor into header 1")]
    [InlineData("descriptor into the log itself")]
    [InlineData("descriptor far beyond the file")]
    [InlineData("zero descriptor into the headers")]
    [InlineData("zero descriptor of 1 TiB, read-only")]
    [InlineData("flushed size beyond the file")]
    [InlineData("last file offset 2^62")]
    [InlineData("entry length beyond the log")]
    [InlineData("descriptor count 2^32-1")]
    [InlineData("data sector with a wrong sequence")]
    [InlineData("log version 1")]
    public void HostileLogIsRefused(string variant)
    {
        using var dir = new TempDir();
        var (path, guid, page, _) = PendingLogImage(dir);
        long length = new FileInfo(path).Length;
        byte[] entry = DataEntry(guid, 5, length, length, new LogPage(BatOffset, page));
        void Restamp() => Crc32C.Stamp(entry, 4);
        switch (variant)
        {
            case "bad entry checksum": entry[5000] ^= 1; break;
            case "no entry at all": entry = new byte[4096]; break;
            case "entry of another log": entry = DataEntry(Guid.NewGuid(), 5, length, length, new LogPage(BatOffset, page)); break;
            case "descriptor into the file identifier": entry = DataEntry(guid, 5, length, length, new LogPage(0, page)); break;
            case "descriptor into header 1": entry = DataEntry(guid, 5, length, length, new LogPage(VhdxFormat.Header1Offset, page)); break;
            case "descriptor into the log itself": entry = DataEntry(guid, 5, length, length, new LogPage(LogOffset + 8192, page)); break;
            case "descriptor far beyond the file": entry = DataEntry(guid, 5, length, length, new LogPage(1L << 50, page)); break;
            case "zero descriptor into the headers": entry = ZeroEntry(guid, 5, length, length, 0, MiB); break;
            case "zero descriptor of 1 TiB, read-only": entry = ZeroEntry(guid, 5, length, 2L << 40, 4 * MiB, 1L << 40); break;
            case "flushed size beyond the file": entry = DataEntry(guid, 5, length + 64 * MiB, length + 64 * MiB, new LogPage(BatOffset, page)); break;
            case "last file offset 2^62": entry = DataEntry(guid, 5, length, 1L << 62, new LogPage(BatOffset, page)); break;
            case "entry length beyond the log": BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(8), 0x7FFF_F000); Restamp(); break;
            case "descriptor count 2^32-1": BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(24), uint.MaxValue); Restamp(); break;
            case "data sector with a wrong sequence": BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(4096 + 4092), 99); Restamp(); break;
        }
        InstallLog(path, guid, entry);
        if (variant == "log version 1") EditBothHeaders(path, b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(64), 1));
        var c = ExpectCorrupt(path, variant == "log version 1" ? "header" : "log", output);
        output.WriteLine($"{variant}: {c.Message}");
    }

    /// <summary>A header naming a 4 GiB log (valid CRC, sparse file) must be refused, not allocated.</summary>
    [Fact]
    public void HugeLogIsRefused()
    {
        using var dir = new TempDir();
        string path = MakeDynamic(dir);
        long length = new FileInfo(path).Length;
        SetLength(path, length + 0xFFF00000L);
        EditBothHeaders(path, b =>
        {
            Guid.NewGuid().TryWriteBytes(b.AsSpan(48, 16));
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(68), 0xFFF00000);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(72), (ulong)length);
        });
        var c = ExpectCorrupt(path, "log", output);
        output.WriteLine(c.Message);
        SetLength(path, 0);
    }

    /// <summary>
    /// A 64 MiB log whose every sector starts a plausible entry claiming to be 32 MiB long (each
    /// failing only its checksum): scanning it naively costs 16384 x 32 MiB of checksumming. It must
    /// be refused (or replayed) in bounded time.
    /// </summary>
    [Fact]
    public void LogFullOfFakeEntriesDoesNotHang()
    {
        using var dir = new TempDir();
        string path = MakeDynamic(dir);
        long length = new FileInfo(path).Length;
        const int logLength = 64 << 20;
        var guid = Guid.NewGuid();
        var log = new byte[logLength];
        for (int at = 0; at < logLength; at += 4096)
        {
            var e = log.AsSpan(at, 4096);
            BinaryPrimitives.WriteUInt32LittleEndian(e, VhdxFormat.LogEntrySignature);
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], 0xBAD);     // checksum: wrong
            BinaryPrimitives.WriteUInt32LittleEndian(e[8..], 32 << 20);  // entry length
            BinaryPrimitives.WriteUInt32LittleEndian(e[12..], 0);        // tail
            BinaryPrimitives.WriteUInt64LittleEndian(e[16..], 1);        // sequence
            guid.TryWriteBytes(e[32..]);
        }
        Write(path, length, log);
        EditBothHeaders(path, b =>
        {
            guid.TryWriteBytes(b.AsSpan(48, 16));
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(68), logLength);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(72), (ulong)length);
        });
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var c = ExpectCorrupt(path, "log", output);
        output.WriteLine($"{sw.ElapsedMilliseconds} ms: {c.Message}");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"scanning the hostile log took {sw.Elapsed}");
    }

    /// <summary>
    /// A writable open replays a log into the file; a hostile log must still not make it hang
    /// (zero-filling a terabyte) or fail with something other than a VirtualDiskException.
    /// </summary>
    [Theory]
    [InlineData("zero descriptor of 1 TiB")]
    [InlineData("last file offset 100 TiB")]
    public void HostileLogDoesNotHangOrEscapeOnAWritableOpen(string variant)
    {
        using var dir = new TempDir();
        var (path, guid, page, _) = PendingLogImage(dir);
        long length = new FileInfo(path).Length;
        byte[] entry = variant switch
        {
            "zero descriptor of 1 TiB" => ZeroEntry(guid, 5, length, 2L << 40, 4 * MiB, 1L << 40),
            _ => DataEntry(guid, 5, length, 100L << 40, new LogPage(BatOffset, page)),
        };
        InstallLog(path, guid, entry);
        var e = TryOpenAndRead(path, DiskOpenOptions.Default, output, timeoutMs: 30_000);
        output.WriteLine(e is null ? "opened" : e.Message);
        SetLength(path, 0); // do not leave a huge sparse file behind for the directory cleanup
    }
}
