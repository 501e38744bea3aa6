using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace HyperSharp.Vhdx.Vhd;

/// <summary>
/// The 1024-byte dynamic disk header ("cxsparse") of dynamic and differencing VHDs: where the BAT
/// is, the block size, and for differencing disks the parent's identity and locators.
/// </summary>
internal sealed class VhdDynamicHeader
{
    public const int Size = 1024;
    public const int LocatorTableOffset = 576;
    private const int ChecksumOffset = 36;
    private const int ParentNameOffset = 64, ParentNameBytes = 512;
    /// <summary>Largest block size we accept; the spec's default is 2 MiB, nothing sane is near this.</summary>
    public const int MaxBlockSize = 256 * 1024 * 1024;
    /// <summary>64 Mi entries (a 256 MiB table): 2040 GiB at 32 KiB blocks. Smaller blocks on huge disks are refused.</summary>
    public const uint MaxTableEntriesInMemory = 1 << 26;
    private static ReadOnlySpan<byte> Cookie => "cxsparse"u8;

    public long TableOffset { get; set; }
    public uint HeaderVersion { get; set; } = 0x00010000;
    public uint MaxTableEntries { get; set; }
    public uint BlockSize { get; set; }
    public byte[] ParentUniqueId { get; set; } = new byte[16];
    public uint ParentTimeStamp { get; set; }
    /// <summary>The parent's file name, stored UTF-16 big-endian (a hint; the locators are what is used).</summary>
    public string ParentName { get; set; } = "";
    public VhdParentLocator[] Locators { get; } = new VhdParentLocator[VhdParentLocator.Count];

    public byte[] ToBytes()
    {
        var b = new byte[Size];
        Cookie.CopyTo(b);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(8), ulong.MaxValue); // reserved "data offset"
        BinaryPrimitives.WriteInt64BigEndian(b.AsSpan(16), TableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(24), HeaderVersion);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(28), MaxTableEntries);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(32), BlockSize);
        ParentUniqueId.AsSpan(0, 16).CopyTo(b.AsSpan(40));
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(56), ParentTimeStamp);
        // Names longer than the field are cut: the field is informational, the locators hold full paths.
        byte[] name = Encoding.BigEndianUnicode.GetBytes(ParentName);
        name.AsSpan(0, Math.Min(name.Length, ParentNameBytes) & ~1).CopyTo(b.AsSpan(ParentNameOffset));
        for (int i = 0; i < Locators.Length; i++)
            Locators[i].WriteTo(b.AsSpan(LocatorTableOffset + i * VhdParentLocator.Size));
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(ChecksumOffset), VhdChecksum.Compute(b, ChecksumOffset));
        return b;
    }

    /// <summary>Parses and validates the header at <paramref name="fileOffset"/> of a file of <paramref name="fileLength"/> bytes.</summary>
    public static VhdDynamicHeader Parse(ReadOnlySpan<byte> b, string path, long fileOffset, long fileLength, bool differencing)
    {
        const string what = "VHD dynamic header";
        if (!b[..8].SequenceEqual(Cookie))
            throw new CorruptImageException(path, what, fileOffset, "cookie is not \"cxsparse\"");
        uint stored = BinaryPrimitives.ReadUInt32BigEndian(b[ChecksumOffset..]);
        uint computed = VhdChecksum.Compute(b[..Size], ChecksumOffset);
        if (stored != computed)
            throw new CorruptImageException(path, what, fileOffset + ChecksumOffset, $"checksum 0x{stored:X8} does not match the computed 0x{computed:X8}");
        var h = new VhdDynamicHeader
        {
            TableOffset = BinaryPrimitives.ReadInt64BigEndian(b[16..]),
            HeaderVersion = BinaryPrimitives.ReadUInt32BigEndian(b[24..]),
            MaxTableEntries = BinaryPrimitives.ReadUInt32BigEndian(b[28..]),
            BlockSize = BinaryPrimitives.ReadUInt32BigEndian(b[32..]),
            ParentUniqueId = b.Slice(40, 16).ToArray(),
            ParentTimeStamp = BinaryPrimitives.ReadUInt32BigEndian(b[56..]),
            ParentName = Encoding.BigEndianUnicode.GetString(b.Slice(ParentNameOffset, ParentNameBytes)).TrimEnd('\0'),
        };
        if (h.HeaderVersion >> 16 != 1)
            throw new CorruptImageException(path, what, fileOffset + 24, $"header version 0x{h.HeaderVersion:X8} is not 1.x");
        if (h.BlockSize < 512 || h.BlockSize > MaxBlockSize || !BitOperations.IsPow2(h.BlockSize))
            throw new CorruptImageException(path, what, fileOffset + 32, $"block size {h.BlockSize} is not a power of two between 512 bytes and {MaxBlockSize >> 20} MiB");
        long maxUseful = VhdFooter.MaxCapacity / h.BlockSize + 128; // our own resize keeps up to a sector of spare entries
        if (h.MaxTableEntries > maxUseful)
            throw new CorruptImageException(path, what, fileOffset + 28, $"max table entries {h.MaxTableEntries} would describe more than the 2040 GiB VHD maximum");
        // The table is held in memory; a hostile (sparse) file must not make us allocate gigabytes.
        if (h.MaxTableEntries > MaxTableEntriesInMemory)
            throw new CorruptImageException(path, what, fileOffset + 28, $"max table entries {h.MaxTableEntries} exceeds the {MaxTableEntriesInMemory} this implementation holds (use a larger block size)");
        long batBytes = (long)h.MaxTableEntries * 4;
        if (h.TableOffset < 0 || h.TableOffset % 512 != 0 || h.TableOffset > fileLength - VhdFooter.Size - batBytes)
            throw new CorruptImageException(path, what, fileOffset + 16, $"BAT at offset {h.TableOffset} of {batBytes} bytes is not sector-aligned or lies outside the file ({fileLength} bytes)");
        if (h.TableOffset < fileOffset + Size && h.TableOffset + batBytes > fileOffset)
            throw new CorruptImageException(path, what, fileOffset + 16, $"BAT at offset {h.TableOffset} overlaps the dynamic header");
        for (int i = 0; i < h.Locators.Length; i++)
        {
            int at = LocatorTableOffset + i * VhdParentLocator.Size;
            h.Locators[i] = VhdParentLocator.Read(b[at..]);
            // Only differencing disks use locators; a dynamic disk's stale entries are ignored, never followed.
            if (differencing) h.Locators[i].Validate(path, i, fileOffset + at, fileLength);
        }
        return h;
    }

    /// <summary>Bytes of the sector bitmap in front of each block: one bit per sector, padded to whole sectors.</summary>
    public static int BitmapBytes(uint blockSize) => (int)(((blockSize / 512 + 7) / 8 + 511) / 512 * 512);
}
