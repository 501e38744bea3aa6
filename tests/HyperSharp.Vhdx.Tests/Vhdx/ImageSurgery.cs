using System.Buffers.Binary;
using System.Security.Cryptography;
using HyperSharp.Vhdx.Vhdx;
using Xunit.Abstractions;

namespace HyperSharp.Vhdx.Tests.Vhdx;

/// <summary>
/// Builds small valid images and damages them precisely (re-stamping checksums where a test wants
/// the damage to get past them), and checks that opening the result fails the way it must.
/// Layout of an image our creator makes: header section 0-1 MiB (headers at 64/128 KiB, region
/// tables at 192/256 KiB), log at 1 MiB (1 MiB), metadata region at 2 MiB, BAT at 3 MiB, payload from 4 MiB.
/// </summary>
internal static class ImageSurgery
{
    public const long MiB = 1 << 20;
    public const long LogOffset = MiB, MetadataOffset = 2 * MiB, BatOffset = 3 * MiB, PayloadOffset = 4 * MiB;

    /// <summary>A 16 MiB dynamic image, 1 MiB blocks, with data in blocks 0, 5 and 15.</summary>
    public static string MakeDynamic(TempDir dir, string name = "base.vhdx", int sector = 512)
    {
        string path = dir.File(name);
        using var d = VirtualDisk.Create(path, new DiskCreateOptions { Capacity = 16 * MiB, BlockSize = (int)MiB, LogicalSectorSize = sector });
        d.Write(0, Pattern(64 * 1024, 1));
        d.Write(5 * MiB + 4096, Pattern(200_000 / sector * sector, 2));
        d.Write(15 * MiB, Pattern((int)MiB, 3));
        return path;
    }

    /// <summary>A differencing child of <paramref name="parent"/> with a few writes (partially present blocks).</summary>
    public static string MakeChild(TempDir dir, string parent, string name)
    {
        string path = dir.File(name);
        using var d = VirtualDisk.Create(path, new DiskCreateOptions { Type = DiskType.Differencing, ParentPath = parent, BlockSize = (int)MiB });
        d.Write(4096, Pattern(8192, 4));
        d.Write(7 * MiB, Pattern(4096, 5));
        d.Unmap(15 * MiB, MiB);
        return path;
    }

    public static byte[] Pattern(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    public static void Write(string path, long offset, ReadOnlySpan<byte> data)
    {
        using var h = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        RandomAccess.Write(h, data, offset);
    }

    public static byte[] Read(string path, long offset, int length)
    {
        using var h = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var b = new byte[length];
        RandomAccess.Read(h, b, offset);
        return b;
    }

    public static void WriteUInt32(string path, long offset, uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); Write(path, offset, b); }
    public static void WriteUInt64(string path, long offset, ulong v) { var b = new byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); Write(path, offset, b); }

    public static void SetLength(string path, long length)
    {
        using var h = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        RandomAccess.SetLength(h, length);
    }

    /// <summary>Applies <paramref name="change"/> to a 4 KiB header (or 64 KiB region table) and re-stamps its CRC-32C.</summary>
    public static void EditChecksummed(string path, long offset, int size, Action<byte[]> change)
    {
        var b = Read(path, offset, size);
        change(b);
        Crc32C.Stamp(b, 4);
        Write(path, offset, b);
    }

    public static void EditBothHeaders(string path, Action<byte[]> change)
    {
        EditChecksummed(path, VhdxFormat.Header1Offset, VhdxFormat.HeaderSize, change);
        EditChecksummed(path, VhdxFormat.Header2Offset, VhdxFormat.HeaderSize, change);
    }

    /// <summary>Replaces both region tables with <paramref name="entries"/> (validly checksummed).</summary>
    public static void WriteRegionTables(string path, IReadOnlyList<RegionEntry> entries, uint? countOverride = null)
    {
        var table = new byte[VhdxFormat.RegionTableSize];
        RegionTable.WriteTo(table, entries);
        if (countOverride is uint c)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(8), c);
            Crc32C.Stamp(table, 4);
        }
        Write(path, VhdxFormat.RegionTable1Offset, table);
        Write(path, VhdxFormat.RegionTable2Offset, table);
    }

    public static RegionEntry BatRegion(long offset = BatOffset, uint length = (uint)MiB) => new(VhdxFormat.BatRegion, offset, length, true);
    public static RegionEntry MetadataRegion(long offset = MetadataOffset, uint length = (uint)MiB) => new(VhdxFormat.MetadataRegion, offset, length, true);

    /// <summary>File offset of metadata table entry <paramref name="i"/>.</summary>
    public static long MetadataEntryOffset(int i) => MetadataOffset + 32 + i * 32;

    /// <summary>Index of a (system) item in the metadata table.</summary>
    public static int FindItem(string path, Guid id)
    {
        var table = Read(path, MetadataOffset, 64 * 1024);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(10));
        for (int i = 0; i < count; i++)
            if (new Guid(table.AsSpan(32 + i * 32, 16)) == id) return i;
        throw new InvalidOperationException($"item {id} not in the metadata table");
    }

    /// <summary>File offset of an item's value.</summary>
    public static long ItemOffset(string path, Guid id)
    {
        int i = FindItem(path, id);
        return MetadataOffset + BinaryPrimitives.ReadUInt32LittleEndian(Read(path, MetadataEntryOffset(i) + 16, 4));
    }

    public static void SetBatEntry(string path, long index, BlockState state, long fileOffset) =>
        WriteUInt64(path, BatOffset + index * 8, BatEntry.Make(state, fileOffset));

    public static VhdxHeader CurrentHeader(string path)
    {
        using var h = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        using var s = new VhdxStorage(path, h, true);
        return VhdxParser.ReadHeaders(s).Header;
    }

    /// <summary>Writes <paramref name="entry"/> into the log and makes both headers name <paramref name="logGuid"/>: a pending log.</summary>
    public static void InstallLog(string path, Guid logGuid, byte[] entry, long logOffsetInLog = 0)
    {
        var header = CurrentHeader(path);
        Write(path, (long)header.LogOffset + logOffsetInLog, entry);
        EditBothHeaders(path, b => logGuid.TryWriteBytes(b.AsSpan(48, 16)));
    }

    /// <summary>A log entry of data pages (built by the engine's own builder), CRC valid.</summary>
    public static byte[] DataEntry(Guid logGuid, ulong sequence, long flushed, long last, params LogPage[] pages) =>
        LogEntryBuilder.Build(logGuid, sequence, 0, flushed, last, pages);

    /// <summary>A log entry of one zero descriptor (crafted here; the engine never writes these).</summary>
    public static byte[] ZeroEntry(Guid logGuid, ulong sequence, long flushed, long last, long fileOffset, long zeroLength)
    {
        var e = new byte[4096];
        BinaryPrimitives.WriteUInt32LittleEndian(e, VhdxFormat.LogEntrySignature);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(8), 4096);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(12), 0);
        BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(16), sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(24), 1);
        logGuid.TryWriteBytes(e.AsSpan(32));
        BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(48), (ulong)flushed);
        BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(56), (ulong)last);
        var d = e.AsSpan(64, 32);
        BinaryPrimitives.WriteUInt32LittleEndian(d, VhdxFormat.ZeroDescriptorSignature);
        BinaryPrimitives.WriteUInt64LittleEndian(d[8..], (ulong)zeroLength);
        BinaryPrimitives.WriteUInt64LittleEndian(d[16..], (ulong)fileOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(d[24..], sequence);
        Crc32C.Stamp(e, 4);
        return e;
    }

    /// <summary>A fingerprint of the file: the full SHA-256 for small files; for big sparse ones the length, mtime and the first 64 MiB.</summary>
    public static string Fingerprint(string path)
    {
        var info = new FileInfo(path);
        if (info.Length <= 256 * MiB) return PeerTools.Sha256(path);
        using var s = File.OpenRead(path);
        var head = new byte[64 * MiB];
        s.ReadExactly(head);
        return $"{info.Length}/{info.LastWriteTimeUtc.Ticks}/{Convert.ToHexString(SHA256.HashData(head))}";
    }

    /// <summary>
    /// Opens (read-only unless told) and, if that works, reads the disk (up to 256 MiB of it).
    /// Returns the exception: null when everything worked, a VirtualDiskException otherwise — any other
    /// exception type, a hang (over 20 s) or a change to a file during a read-only attempt fails the test.
    /// </summary>
    public static VirtualDiskException? TryOpenAndRead(string path, DiskOpenOptions? options = null, ITestOutputHelper? output = null, int timeoutMs = 20_000)
    {
        options ??= DiskOpenOptions.ReadOnlyDefault;
        string before = options.ReadOnly ? Fingerprint(path) : "";
        Exception? caught = null;
        var task = Task.Run(() =>
        {
            try
            {
                using var disk = VirtualDisk.Open(path, options, DiskFormat.Vhdx); // parse as VHDX whatever the signature says
                ReadDisk(disk);
            }
            catch (Exception e) { caught = e; }
        });
        if (!task.Wait(timeoutMs)) Assert.Fail($"opening {path} hangs (still running after {timeoutMs} ms)");
        if (options.ReadOnly) Assert.True(before == Fingerprint(path), $"a read-only open attempt changed {path}");
        if (caught is null) return null;
        output?.WriteLine($"{caught.GetType().Name}: {caught.Message}");
        if (caught is not VirtualDiskException vde)
            throw new Xunit.Sdk.XunitException($"opening/reading {path} threw {caught.GetType().FullName} instead of a VirtualDiskException: {caught}");
        return vde;
    }

    public static void ReadDisk(IVirtualDisk disk)
    {
        var buffer = new byte[MiB];
        long end = Math.Min(disk.Capacity, 256 * MiB);
        for (long at = 0; at < end; at += buffer.Length)
            disk.Read(at, buffer.AsSpan(0, (int)Math.Min(buffer.Length, end - at)));
        if (disk.Capacity > end) disk.Read(disk.Capacity - 4096, buffer.AsSpan(0, 4096));
    }

    /// <summary>The attempt must fail with a CorruptImageException naming <paramref name="structure"/> and a file offset.</summary>
    public static CorruptImageException ExpectCorrupt(string path, string structure, ITestOutputHelper? output = null, DiskOpenOptions? options = null)
    {
        var e = TryOpenAndRead(path, options, output);
        Assert.True(e is not null, $"{path} opened and read without error, but it is damaged ({structure})");
        var c = Assert.IsAssignableFrom<CorruptImageException>(e); // ImageFormatException for a missing signature
        Assert.Contains(structure, c.Structure, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("at file offset 0x", c.Message);
        Assert.Contains(path, c.Message);
        return c;
    }
}
