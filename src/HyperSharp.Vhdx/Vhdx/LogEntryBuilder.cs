using System.Buffers.Binary;

namespace HyperSharp.Vhdx.Vhdx;

/// <summary>A 4 KiB metadata sector to write through the log: its final file offset and its new content.</summary>
internal readonly record struct LogPage(long FileOffset, byte[] Data);

/// <summary>Builds one log entry (MS-VHDX 2.3.1): descriptor sectors with the entry header, then one data sector per page.</summary>
internal static class LogEntryBuilder
{
    private const int HeaderSize = 64, DescriptorSize = 32, Sector = VhdxFormat.LogSectorSize;

    public static int DescriptorSectors(int descriptorCount) => (HeaderSize + descriptorCount * DescriptorSize + Sector - 1) / Sector;

    public static int EntryLength(int pageCount) => (DescriptorSectors(pageCount) + pageCount) * Sector;

    public static byte[] Build(Guid logGuid, ulong sequence, uint tail, long flushedFileOffset, long lastFileOffset, IReadOnlyList<LogPage> pages)
    {
        int descSectors = DescriptorSectors(pages.Count);
        var entry = new byte[(descSectors + pages.Count) * Sector];
        var span = entry.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, VhdxFormat.LogEntrySignature);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], (uint)entry.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[12..], tail);
        BinaryPrimitives.WriteUInt64LittleEndian(span[16..], sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(span[24..], (uint)pages.Count);
        logGuid.TryWriteBytes(span[32..]);
        BinaryPrimitives.WriteUInt64LittleEndian(span[48..], (ulong)flushedFileOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(span[56..], (ulong)lastFileOffset);
        for (int i = 0; i < pages.Count; i++)
        {
            var page = pages[i].Data.AsSpan();
            var d = span.Slice(HeaderSize + i * DescriptorSize, DescriptorSize);
            BinaryPrimitives.WriteUInt32LittleEndian(d, VhdxFormat.DataDescriptorSignature);
            page.Slice(Sector - 4, 4).CopyTo(d[4..]);   // trailing bytes
            page[..8].CopyTo(d[8..]);                   // leading bytes
            BinaryPrimitives.WriteUInt64LittleEndian(d[16..], (ulong)pages[i].FileOffset);
            BinaryPrimitives.WriteUInt64LittleEndian(d[24..], sequence);
            var s = span.Slice((descSectors + i) * Sector, Sector);
            BinaryPrimitives.WriteUInt32LittleEndian(s, VhdxFormat.DataSectorSignature);
            BinaryPrimitives.WriteUInt32LittleEndian(s[4..], (uint)(sequence >> 32));
            page[8..(Sector - 4)].CopyTo(s[8..]);
            BinaryPrimitives.WriteUInt32LittleEndian(s[(Sector - 4)..], (uint)sequence);
        }
        Crc32C.Stamp(span, 4);
        return entry;
    }
}
