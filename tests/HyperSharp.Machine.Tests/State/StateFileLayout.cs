using System.Buffers.Binary;
using System.Text;
using HyperSharp.Vhdx.Vhdx;

namespace HyperSharp.Machine.Tests.State;

/// <summary>One record of a format 2 saved-state file as the test reads it, independently of the product's reader.</summary>
internal sealed record RecordLayout(ushort Kind, ushort Version, string Key, long Offset, int KeyLength, int PayloadLength)
{
    public const ushort Machine = 1, Platform = 2, Processor = 3, Device = 4, Memory = 5, End = 6;

    public long PayloadOffset => Offset + 16 + KeyLength;
}

/// <summary>Reads and edits a saved-state file's layout (header, records, checksums) to damage it in controlled ways.</summary>
internal static class StateFileLayout
{
    public static int HeaderLength(byte[] file) => 16 + (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(12)) + 4;

    public static List<RecordLayout> Records(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        Assert.Equal("HSVMSAVE"u8.ToArray(), file[..8]);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8)));
        var records = new List<RecordLayout>();
        for (long at = HeaderLength(file); at < file.Length;)
        {
            var h = file.AsSpan((int)at);
            int keyLength = BinaryPrimitives.ReadUInt16LittleEndian(h[4..]);
            int payload = (int)BinaryPrimitives.ReadUInt32LittleEndian(h[8..]);
            records.Add(new RecordLayout(BinaryPrimitives.ReadUInt16LittleEndian(h), BinaryPrimitives.ReadUInt16LittleEndian(h[2..]),
                Encoding.UTF8.GetString(h.Slice(16, keyLength)), at, keyLength, payload));
            at += 16 + keyLength + payload;
        }
        return records;
    }

    /// <summary>Sets a record's version and gives it a valid checksum again (what a newer writer would have written).</summary>
    public static void SetVersion(string path, RecordLayout record, ushort version)
    {
        byte[] file = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan((int)record.Offset + 2), version);
        var whole = file.AsSpan((int)record.Offset, 16 + record.KeyLength + record.PayloadLength);
        uint crc = Crc32C.Append(Crc32C.Compute(whole[..12]), whole[16..]);
        BinaryPrimitives.WriteUInt32LittleEndian(whole[12..], crc);
        File.WriteAllBytes(path, file);
    }

    /// <summary>Sets the file's format version and gives the header a valid checksum again.</summary>
    public static void SetFormat(string path, uint format)
    {
        byte[] file = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(8), format);
        int length = HeaderLength(file);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(length - 4), Crc32C.Compute(file.AsSpan(0, length - 4)));
        File.WriteAllBytes(path, file);
    }

    /// <summary>Writes <paramref name="data"/> over the file at <paramref name="offset"/>.</summary>
    public static void Overwrite(string path, long offset, byte[] data)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(data);
    }
}
