using System.Buffers.Binary;

namespace HyperSharp.Vhdx.Operations;

/// <summary>
/// Where the guest's use of a disk ends, as its own structures say: the end of the last partition of an MBR or GPT
/// partition table, or of an ext2/3/4 file system laid on the whole disk (no partition table, as a data disk often is).
/// A shrink of a disk in use may go down to that and no further (Hyper-V's rule: the partitions bound it); null when the
/// disk holds neither, and then only the stored data bounds it.
/// </summary>
public static class GuestLayout
{
    private const int ExtSuperblock = 1024;

    /// <summary>The byte just past the guest's last partition or whole-disk file system, or null when neither is found.</summary>
    public static long? End(IVirtualDisk disk)
    {
        int sector = disk.LogicalSectorSize;
        if (disk.Capacity < 2L * sector || disk.Capacity < 2 * ExtSuperblock) return null;
        var first = new byte[Math.Max(sector, 2 * ExtSuperblock)];
        disk.Read(0, first);
        if (first[510] == 0x55 && first[511] == 0xAA && Mbr(first) is { } mbr)
            return mbr.Protective ? Gpt(disk, sector) ?? mbr.End * sector : mbr.End * sector;
        return Ext(first.AsSpan(ExtSuperblock, ExtSuperblock));
    }

    /// <summary>The end (in sectors) of the MBR's last partition, and whether it is a GPT's protective entry; null for an empty table.</summary>
    private static (long End, bool Protective)? Mbr(ReadOnlySpan<byte> s)
    {
        long end = 0;
        bool protective = false;
        for (int i = 0; i < 4; i++)
        {
            var e = s.Slice(446 + 16 * i, 16);
            if (e[4] == 0) continue;
            protective |= e[4] == 0xEE;
            end = Math.Max(end, BinaryPrimitives.ReadUInt32LittleEndian(e[8..]) + (long)BinaryPrimitives.ReadUInt32LittleEndian(e[12..]));
        }
        return end == 0 ? null : (end, protective);
    }

    /// <summary>The end of the GPT's last used partition entry (its last LBA + 1, in bytes); null when the header is not a GPT's.</summary>
    private static long? Gpt(IVirtualDisk disk, int sector)
    {
        var header = new byte[sector];
        disk.Read(sector, header);
        if (!header.AsSpan(0, 8).SequenceEqual("EFI PART"u8)) return null;
        long entries = (long)BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(72));
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(80)), size = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(84));
        if (size < 128 || size > 4096 || count > 1024 || (entries + 1) * sector > disk.Capacity) return null;
        var table = new byte[(int)Math.Min(count * size, disk.Capacity - entries * sector)];
        disk.Read(entries * sector, table);
        long end = 0;
        for (int i = 0; (i + 1) * size <= table.Length; i++)
        {
            var e = table.AsSpan((int)(i * size), (int)size);
            if (e[..16].IndexOfAnyExcept((byte)0) < 0) continue; // an unused entry
            end = Math.Max(end, ((long)BinaryPrimitives.ReadUInt64LittleEndian(e[40..]) + 1) * sector);
        }
        return end;
    }

    /// <summary>An ext2/3/4 superblock's block count times its block size; null without the magic.</summary>
    private static long? Ext(ReadOnlySpan<byte> sb)
    {
        if (BinaryPrimitives.ReadUInt16LittleEndian(sb[56..]) != 0xEF53) return null;
        int logBlock = (int)BinaryPrimitives.ReadUInt32LittleEndian(sb[24..]);
        if (logBlock > 6) return null;
        bool wide = (BinaryPrimitives.ReadUInt32LittleEndian(sb[96..]) & 0x80) != 0; // INCOMPAT_64BIT: the count's high half is kept
        long blocks = BinaryPrimitives.ReadUInt32LittleEndian(sb[4..]) | (wide ? (long)BinaryPrimitives.ReadUInt32LittleEndian(sb[0x150..]) << 32 : 0);
        return blocks * (1024L << logBlock);
    }
}
