using System.Buffers.Binary;
using System.Text;

namespace HyperSharp.Vhdx.Vhd;

/// <summary>
/// The 512-byte hard disk footer ("conectix") every VHD ends with; dynamic and differencing disks
/// also keep a copy at offset 0. All fields are big-endian.
/// </summary>
internal sealed class VhdFooter
{
    public const int Size = 512;
    public const ulong NoDataOffset = ulong.MaxValue;
    public const uint FixedType = 2, DynamicType = 3, DifferencingType = 4;
    /// <summary>The largest disk the format allows (2040 GiB; the 32-bit sector offsets of the BAT and CHS limits).</summary>
    public const long MaxCapacity = 2040L * 1024 * 1024 * 1024;

    private const int ChecksumOffset = 64;
    private static ReadOnlySpan<byte> Cookie => "conectix"u8;
    /// <summary>Our creator application. qemu sizes disks from CHS for unknown creators (see the tests).</summary>
    public static ReadOnlySpan<byte> OurCreator => "hysh"u8;

    public uint Features { get; set; } = 2; // bit 1 is reserved and always set
    public uint FormatVersion { get; set; } = 0x00010000;
    public ulong DataOffset { get; set; } = NoDataOffset;
    public uint TimeStamp { get; set; }
    public byte[] CreatorApp { get; set; } = OurCreator.ToArray();
    public uint CreatorVersion { get; set; } = 0x00010000;
    public uint CreatorHostOs { get; set; } = 0x5769326B; // "Wi2k": the spec defines only Windows and Mac
    public ulong OriginalSize { get; set; }
    public ulong CurrentSize { get; set; }
    public VhdGeometry Geometry { get; set; }
    public uint DiskType { get; set; }
    public byte[] UniqueId { get; set; } = new byte[16];
    public byte SavedState { get; set; }

    public string CreatorText => Encoding.ASCII.GetString(CreatorApp);

    public static VhdFooter New(uint diskType, long capacity, ulong dataOffset) => new()
    {
        DiskType = diskType,
        DataOffset = dataOffset,
        TimeStamp = VhdTime.Now,
        OriginalSize = (ulong)capacity,
        CurrentSize = (ulong)capacity,
        Geometry = VhdGeometry.FromCapacity(capacity),
        UniqueId = Guid.NewGuid().ToByteArray(bigEndian: true),
    };

    public byte[] ToBytes()
    {
        var b = new byte[Size];
        Cookie.CopyTo(b);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(8), Features);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(12), FormatVersion);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(16), DataOffset);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(24), TimeStamp);
        CreatorApp.AsSpan(0, 4).CopyTo(b.AsSpan(28));
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(32), CreatorVersion);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(36), CreatorHostOs);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(40), OriginalSize);
        BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(48), CurrentSize);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(56), Geometry.Cylinders);
        b[58] = Geometry.Heads;
        b[59] = Geometry.SectorsPerTrack;
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(60), DiskType);
        UniqueId.AsSpan(0, 16).CopyTo(b.AsSpan(68));
        b[84] = SavedState;
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(ChecksumOffset), VhdChecksum.Compute(b, ChecksumOffset));
        return b;
    }

    /// <summary>Parses and validates a footer read from <paramref name="fileOffset"/>; throws <see cref="CorruptImageException"/>.</summary>
    public static VhdFooter Parse(ReadOnlySpan<byte> b, string path, long fileOffset)
    {
        const string what = "VHD footer";
        if (!b[..8].SequenceEqual(Cookie))
            throw new CorruptImageException(path, what, fileOffset, "cookie is not \"conectix\": this is not a VHD file, or its footer was overwritten");
        uint stored = BinaryPrimitives.ReadUInt32BigEndian(b[ChecksumOffset..]);
        uint computed = VhdChecksum.Compute(b[..Size], ChecksumOffset);
        if (stored != computed)
            throw new CorruptImageException(path, what, fileOffset + ChecksumOffset, $"checksum 0x{stored:X8} does not match the computed 0x{computed:X8}");
        var f = new VhdFooter
        {
            Features = BinaryPrimitives.ReadUInt32BigEndian(b[8..]),
            FormatVersion = BinaryPrimitives.ReadUInt32BigEndian(b[12..]),
            DataOffset = BinaryPrimitives.ReadUInt64BigEndian(b[16..]),
            TimeStamp = BinaryPrimitives.ReadUInt32BigEndian(b[24..]),
            CreatorApp = b.Slice(28, 4).ToArray(),
            CreatorVersion = BinaryPrimitives.ReadUInt32BigEndian(b[32..]),
            CreatorHostOs = BinaryPrimitives.ReadUInt32BigEndian(b[36..]),
            OriginalSize = BinaryPrimitives.ReadUInt64BigEndian(b[40..]),
            CurrentSize = BinaryPrimitives.ReadUInt64BigEndian(b[48..]),
            Geometry = new VhdGeometry(BinaryPrimitives.ReadUInt16BigEndian(b[56..]), b[58], b[59]),
            DiskType = BinaryPrimitives.ReadUInt32BigEndian(b[60..]),
            UniqueId = b.Slice(68, 16).ToArray(),
            SavedState = b[84],
        };
        if (f.FormatVersion >> 16 != 1)
            throw new CorruptImageException(path, what, fileOffset + 12, $"file format version 0x{f.FormatVersion:X8} is not 1.x");
        if (f.DiskType is not (FixedType or DynamicType or DifferencingType))
            throw new CorruptImageException(path, what, fileOffset + 60, $"disk type {f.DiskType} is not fixed (2), dynamic (3) or differencing (4)");
        if (f.CurrentSize > MaxCapacity)
            throw new CorruptImageException(path, what, fileOffset + 48, $"current size {f.CurrentSize} bytes exceeds the VHD maximum of 2040 GiB");
        if (f.CurrentSize % 512 != 0)
            throw new CorruptImageException(path, what, fileOffset + 48, $"current size {f.CurrentSize} bytes is not a multiple of 512");
        return f;
    }
}
