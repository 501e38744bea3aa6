using System.Buffers.Binary;
using System.Text;

namespace HyperSharp.Vhdx.Vhd;

/// <summary>
/// One 24-byte parent locator entry of a differencing VHD's dynamic header: a platform code and
/// where in the file the path to the parent is stored.
/// </summary>
internal readonly record struct VhdParentLocator(uint PlatformCode, uint DataSpace, uint DataLength, long DataOffset)
{
    public const int Size = 24;
    public const int Count = 8;
    /// <summary>Windows relative path, UTF-16LE.</summary>
    public const uint W2ru = 0x57327275;
    /// <summary>Windows absolute path, UTF-16LE.</summary>
    public const uint W2ku = 0x57326B75;
    /// <summary>No path can be longer than this (32767 UTF-16 units); anything larger is hostile.</summary>
    public const int MaxDataLength = 65534;

    public bool IsUsed => PlatformCode != 0;

    public void WriteTo(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt32BigEndian(b, PlatformCode);
        BinaryPrimitives.WriteUInt32BigEndian(b[4..], DataSpace);
        BinaryPrimitives.WriteUInt32BigEndian(b[8..], DataLength);
        BinaryPrimitives.WriteUInt32BigEndian(b[12..], 0);
        BinaryPrimitives.WriteInt64BigEndian(b[16..], DataOffset);
    }

    public static VhdParentLocator Read(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt32BigEndian(b),
        BinaryPrimitives.ReadUInt32BigEndian(b[4..]),
        BinaryPrimitives.ReadUInt32BigEndian(b[8..]),
        BinaryPrimitives.ReadInt64BigEndian(b[16..]));

    /// <summary>Checks that the entry's data lies inside the file; <paramref name="entryOffset"/> names it in errors.</summary>
    public void Validate(string path, int index, long entryOffset, long fileLength)
    {
        if (!IsUsed) return;
        string what = $"parent locator {index}";
        if (DataLength > MaxDataLength)
            throw new CorruptImageException(path, what, entryOffset + 8, $"data length {DataLength} bytes is larger than any path ({MaxDataLength} bytes)");
        if (DataOffset < 0 || DataOffset > fileLength - DataLength)
            throw new CorruptImageException(path, what, entryOffset + 16, $"data at offset {DataOffset} of {DataLength} bytes lies outside the file ({fileLength} bytes)");
    }

    /// <summary>Windows-style path text for a locator: '\' separators (on Linux, '/' become '\').</summary>
    public static byte[] EncodePath(string path) =>
        Encoding.Unicode.GetBytes(path.Replace('/', '\\'));

    /// <summary>Decodes the stored UTF-16LE path back into a host path ('\' become '/' on Linux).</summary>
    public static string DecodePath(ReadOnlySpan<byte> data)
    {
        string text = Encoding.Unicode.GetString(data[..(data.Length & ~1)]).TrimEnd('\0');
        return Path.DirectorySeparatorChar == '/' ? text.Replace('\\', '/') : text;
    }
}
