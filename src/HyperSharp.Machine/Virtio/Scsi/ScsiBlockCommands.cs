using System.Buffers;
using System.Buffers.Binary;
using HyperSharp.Vhdx;

namespace HyperSharp.Machine.Virtio.Scsi;

/// <summary>
/// The SBC commands that move or release blocks: READ/WRITE (6/10/12/16), VERIFY, SYNCHRONIZE CACHE, UNMAP, WRITE SAME
/// (10/16) and READ CAPACITY (10/16). Data goes straight between the guest's buffers and the image; a range past the end
/// is LBA OUT OF RANGE, a write to a read-only LUN DATA PROTECT, and a host I/O failure a MEDIUM ERROR.
/// </summary>
internal static class ScsiBlockCommands
{
    /// <summary>Descriptors one UNMAP may carry and blocks one descriptor or WRITE SAME may cover (VPD page B0h says so).</summary>
    public const int MaxUnmapDescriptors = 256;
    public const uint MaxUnmapBlocks = 1u << 22;

    public static ScsiOutcome ReadWrite(ScsiLun lun, ReadOnlySpan<byte> cdb, in ScsiDataBuffers data, bool write)
    {
        var (lba, blocks) = RangeOf(cdb);
        if (write && lun.ReadOnly) return ScsiOutcome.Check(SenseCode.WriteProtected);
        ulong bytes = blocks * (ulong)lun.BlockSize;
        if (bytes > VirtioScsi.MaxTransferBytes) return ScsiOutcome.Check(SenseCode.InvalidFieldInCdb);
        if (!InRange(lun, lba, blocks)) return ScsiOutcome.Check(SenseCode.LbaOutOfRange);
        if ((long)bytes > (write ? data.OutLength : data.InLength)) return ScsiOutcome.Transport(VirtioScsi.ResponseOverrun);
        long offset = (long)lba * lun.BlockSize;
        ulong left = bytes;
        try
        {
            foreach (var (address, length) in data.Areas(dataIn: !write))
            {
                if (left == 0) break;
                int n = (int)Math.Min(length, left);
                var span = data.Ram.GetSpan(address, n);
                if (write) lun.Disk.Write(offset, span);
                else { lun.Disk.Read(offset, span); data.Ram.NotifyWritten(address, (ulong)n); }
                offset += n;
                left -= (ulong)n;
            }
            if (write && (cdb[1] & 0x08) != 0 && cdb[0] != ScsiOp.Write6) lun.Disk.Flush(); // FUA
        }
        catch (Exception e) when (IsDiskError(e))
        {
            return ScsiOutcome.Check(write ? SenseCode.WriteError : SenseCode.UnrecoveredReadError);
        }
        return ScsiOutcome.Good(write ? 0 : (long)bytes);
    }

    public static ScsiOutcome Verify(ScsiLun lun, ReadOnlySpan<byte> cdb)
    {
        var (lba, blocks) = RangeOf(cdb);
        if ((cdb[1] & 0x06) != 0) return ScsiOutcome.Check(SenseCode.InvalidFieldInCdb); // BYTCHK: comparing data is not offered
        return InRange(lun, lba, blocks) ? ScsiOutcome.Good() : ScsiOutcome.Check(SenseCode.LbaOutOfRange);
    }

    public static ScsiOutcome SynchronizeCache(ScsiLun lun)
    {
        if (lun.ReadOnly) return ScsiOutcome.Good();
        try { lun.Disk.Flush(); }
        catch (Exception e) when (IsDiskError(e)) { return ScsiOutcome.Check(SenseCode.WriteError); }
        return ScsiOutcome.Good();
    }

    public static ScsiOutcome ReadCapacity10(ScsiLun lun, in ScsiDataBuffers data)
    {
        Span<byte> r = stackalloc byte[8];
        long last = lun.BlockCount - 1;
        BinaryPrimitives.WriteUInt32BigEndian(r, last > uint.MaxValue ? uint.MaxValue : (uint)last); // all ones: ask READ CAPACITY (16)
        BinaryPrimitives.WriteUInt32BigEndian(r[4..], (uint)lun.BlockSize);
        return ScsiOutcome.Good(data.WriteIn(r));
    }

    public static ScsiOutcome ReadCapacity16(ScsiLun lun, ReadOnlySpan<byte> cdb, in ScsiDataBuffers data)
    {
        Span<byte> r = stackalloc byte[32];
        r.Clear();
        BinaryPrimitives.WriteUInt64BigEndian(r, (ulong)(lun.BlockCount - 1));
        BinaryPrimitives.WriteUInt32BigEndian(r[8..], (uint)lun.BlockSize);
        r[13] = (byte)Math.Log2(Math.Max(1, lun.Disk.PhysicalSectorSize / lun.BlockSize)); // logical blocks per physical block exponent
        if (lun.CanUnmap) r[14] = 0x80 | 0x40; // LBPME: thin provisioned, UNMAP works; LBPRZ: unmapped blocks read as zeros
        uint allocation = BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]);
        return ScsiOutcome.Good(data.WriteIn(r[..(int)Math.Min(allocation, 32u)]));
    }

    public static ScsiOutcome Unmap(ScsiLun lun, ReadOnlySpan<byte> cdb, in ScsiDataBuffers data)
    {
        if (lun.ReadOnly) return ScsiOutcome.Check(SenseCode.WriteProtected);
        if (!lun.CanUnmap) return ScsiOutcome.Check(SenseCode.InvalidOpcode);
        int length = BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]);
        if (length == 0) return ScsiOutcome.Good();
        if (length < 8 || length > data.OutLength) return ScsiOutcome.Check(SenseCode.ParameterListLengthError);
        Span<byte> list = stackalloc byte[8 + 16 * MaxUnmapDescriptors];
        list = list[..data.ReadOut(list[..Math.Min(length, list.Length)])];
        int descriptors = BinaryPrimitives.ReadUInt16BigEndian(list[2..]);
        if (descriptors % 16 != 0 || descriptors / 16 > MaxUnmapDescriptors || 8 + descriptors > list.Length)
            return ScsiOutcome.Check(SenseCode.InvalidFieldInParameterList);
        for (int at = 8; at < 8 + descriptors; at += 16)
        {
            ulong lba = BinaryPrimitives.ReadUInt64BigEndian(list[at..]);
            uint blocks = BinaryPrimitives.ReadUInt32BigEndian(list[(at + 8)..]);
            if (blocks > MaxUnmapBlocks) return ScsiOutcome.Check(SenseCode.InvalidFieldInParameterList);
            if (!InRange(lun, lba, blocks)) return ScsiOutcome.Check(SenseCode.LbaOutOfRange);
        }
        try
        {
            for (int at = 8; at < 8 + descriptors; at += 16)
            {
                ulong lba = BinaryPrimitives.ReadUInt64BigEndian(list[at..]);
                uint blocks = BinaryPrimitives.ReadUInt32BigEndian(list[(at + 8)..]);
                if (blocks > 0) lun.Disk.Unmap((long)lba * lun.BlockSize, (long)blocks * lun.BlockSize);
            }
        }
        catch (Exception e) when (IsDiskError(e)) { return ScsiOutcome.Check(SenseCode.WriteError); }
        return ScsiOutcome.Good();
    }

    /// <summary>
    /// WRITE SAME: a block of zeros (or no data, NDOB) becomes an unmap — the range then reads as zeros, which is what was
    /// asked whether or not the UNMAP bit is set; any other pattern (or any on a shared LUN) is written block by block.
    /// </summary>
    public static ScsiOutcome WriteSame(ScsiLun lun, ReadOnlySpan<byte> cdb, in ScsiDataBuffers data)
    {
        if (lun.ReadOnly) return ScsiOutcome.Check(SenseCode.WriteProtected);
        bool sixteen = cdb[0] == ScsiOp.WriteSame16;
        ulong lba = sixteen ? BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]) : BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]);
        uint blocks = sixteen ? BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]) : BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]);
        bool noData = sixteen && (cdb[1] & 0x01) != 0;
        if (blocks == 0 || blocks > MaxUnmapBlocks || (cdb[1] & 0x06) != 0) return ScsiOutcome.Check(SenseCode.InvalidFieldInCdb); // WSNZ; no LBDATA/PBDATA
        if (!InRange(lun, lba, blocks)) return ScsiOutcome.Check(SenseCode.LbaOutOfRange);
        if (!noData && data.OutLength < lun.BlockSize) return ScsiOutcome.Transport(VirtioScsi.ResponseOverrun);
        byte[] block = ArrayPool<byte>.Shared.Rent(lun.BlockSize);
        try
        {
            var pattern = block.AsSpan(0, lun.BlockSize);
            if (noData) pattern.Clear(); else data.ReadOut(pattern);
            long offset = (long)lba * lun.BlockSize, length = (long)blocks * lun.BlockSize;
            if (lun.CanUnmap && !pattern.ContainsAnyExcept((byte)0)) lun.Disk.Unmap(offset, length);
            else for (long at = offset; at < offset + length; at += pattern.Length) lun.Disk.Write(at, pattern);
        }
        catch (Exception e) when (IsDiskError(e)) { return ScsiOutcome.Check(SenseCode.WriteError); }
        finally { ArrayPool<byte>.Shared.Return(block); }
        return ScsiOutcome.Good();
    }

    /// <summary>The logical block address and block count of a READ, WRITE or VERIFY CDB of any length.</summary>
    private static (ulong Lba, ulong Blocks) RangeOf(ReadOnlySpan<byte> cdb) => ScsiOp.CdbLength(cdb[0]) switch
    {
        6 => ((ulong)(cdb[1] & 0x1F) << 16 | (ulong)cdb[2] << 8 | cdb[3], cdb[4] == 0 ? 256UL : cdb[4]),
        10 => (BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]), BinaryPrimitives.ReadUInt16BigEndian(cdb[7..])),
        12 => (BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]), BinaryPrimitives.ReadUInt32BigEndian(cdb[6..])),
        _ => (BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]), BinaryPrimitives.ReadUInt32BigEndian(cdb[10..])),
    };

    private static bool InRange(ScsiLun lun, ulong lba, ulong blocks) => lba <= (ulong)lun.BlockCount && blocks <= (ulong)lun.BlockCount - lba;

    private static bool IsDiskError(Exception e) => e is VirtualDiskException or IOException or ArgumentOutOfRangeException or UnauthorizedAccessException;
}
