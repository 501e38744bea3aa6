using System.Buffers;

namespace HyperSharp.Vhdx;

/// <summary>
/// Splits an arbitrary byte-range write into whole logical sectors: the unaligned head and tail
/// sectors are read, merged and written back. Formats implement aligned I/O only.
/// </summary>
internal static class SectorAlignedIo
{
    public delegate void AlignedRead(long offset, Span<byte> buffer);
    public delegate void AlignedWrite(long offset, ReadOnlySpan<byte> buffer);

    public static bool IsAligned(long offset, int length, int sector) =>
        (offset | (long)length) % sector == 0;

    public static void Read(long offset, Span<byte> buffer, int sector, AlignedRead read)
    {
        if (IsAligned(offset, buffer.Length, sector)) { read(offset, buffer); return; }
        long start = offset / sector * sector;
        long end = (offset + buffer.Length + sector - 1) / sector * sector;
        byte[] temp = ArrayPool<byte>.Shared.Rent(checked((int)(end - start)));
        try
        {
            Span<byte> span = temp.AsSpan(0, (int)(end - start));
            read(start, span);
            span.Slice((int)(offset - start), buffer.Length).CopyTo(buffer);
        }
        finally { ArrayPool<byte>.Shared.Return(temp); }
    }

    public static void Write(long offset, ReadOnlySpan<byte> buffer, int sector, AlignedRead read, AlignedWrite write)
    {
        if (IsAligned(offset, buffer.Length, sector)) { write(offset, buffer); return; }
        long start = offset / sector * sector;
        long end = (offset + buffer.Length + sector - 1) / sector * sector;
        byte[] temp = ArrayPool<byte>.Shared.Rent(checked((int)(end - start)));
        try
        {
            Span<byte> span = temp.AsSpan(0, (int)(end - start));
            // Only the first and last sectors hold bytes we must keep.
            read(start, span[..sector]);
            if (end - start > sector) read(end - sector, span[^sector..]);
            buffer.CopyTo(span[(int)(offset - start)..]);
            write(start, span);
        }
        finally { ArrayPool<byte>.Shared.Return(temp); }
    }
}
