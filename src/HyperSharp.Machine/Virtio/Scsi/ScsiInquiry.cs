using System.Buffers.Binary;
using System.Text;

namespace HyperSharp.Machine.Virtio.Scsi;

/// <summary>
/// INQUIRY (SPC-4 6.6): the standard data of a direct-access disk, the "no logical unit here" answer the target gives
/// for empty LUNs (peripheral qualifier 3, so Linux asks REPORT LUNS instead of stopping at a missing LUN 0), and the
/// vital product data pages sd reads: 00h (list), 80h (serial), 83h (identification), B0h (block limits),
/// B1h (characteristics: not rotating) and B2h (thin provisioning with UNMAP and WRITE SAME).
/// </summary>
internal static class ScsiInquiry
{
    public const string Vendor = "HYPERSHP", Product = "Virtual Disk", Revision = "1.0";
    private static ReadOnlySpan<byte> Pages => [0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2];

    public static ScsiOutcome Execute(ScsiLun? lun, ReadOnlySpan<byte> cdb, in ScsiDataBuffers data)
    {
        bool vpd = (cdb[1] & 0x01) != 0;
        byte page = cdb[2];
        int allocation = BinaryPrimitives.ReadUInt16BigEndian(cdb[3..]);
        Span<byte> r = stackalloc byte[256];
        r.Clear();
        int length;
        if (!vpd)
        {
            if (page != 0) return ScsiOutcome.Check(SenseCode.InvalidFieldInCdb);
            length = Standard(lun, r);
        }
        else if (lun is null) return ScsiOutcome.Check(SenseCode.LunNotSupported);
        else
        {
            r[1] = page;
            int body = page switch
            {
                0x00 => Copy(Pages, r[4..]),
                0x80 => Encoding.ASCII.GetBytes(lun.Serial, r[4..]),
                0x83 => Identification(lun, r[4..]),
                0xB0 => BlockLimits(lun, r[4..]),
                0xB1 => Characteristics(r[4..]),
                0xB2 => Provisioning(lun, r[4..]),
                _ => -1,
            };
            if (body < 0) return ScsiOutcome.Check(SenseCode.InvalidFieldInCdb);
            BinaryPrimitives.WriteUInt16BigEndian(r[2..], (ushort)body);
            length = 4 + body;
        }
        return ScsiOutcome.Good(data.WriteIn(r[..Math.Min(length, allocation)]));
    }

    private static int Standard(ScsiLun? lun, Span<byte> r)
    {
        r[0] = lun is null ? (byte)0x7F : (byte)0x00; // no LU: qualifier 3, type 1Fh; else a direct-access block device
        r[2] = 0x06;                                   // SPC-4
        r[3] = 0x12;                                   // HISUP, response data format 2
        r[4] = 36 - 5;
        r[7] = 0x02;                                   // CMDQUE: tagged queueing
        Pad(Vendor, r.Slice(8, 8));
        Pad(Product, r.Slice(16, 16));
        Pad(Revision, r.Slice(32, 4));
        return 36;
    }

    /// <summary>A T10 vendor ID designator for the LU (vendor plus serial): what Linux shows as the disk's wwid.</summary>
    private static int Identification(ScsiLun lun, Span<byte> r)
    {
        int id = Vendor.Length + lun.Serial.Length;
        r[0] = 0x02;      // code set: ASCII
        r[1] = 0x01;      // association: the logical unit; designator type: T10 vendor ID
        r[3] = (byte)id;
        Encoding.ASCII.GetBytes(Vendor, r[4..]);
        Encoding.ASCII.GetBytes(lun.Serial, r[(4 + Vendor.Length)..]);
        return 4 + id;
    }

    private static int BlockLimits(ScsiLun lun, Span<byte> r)
    {
        r[0] = 0x01; // WSNZ: WRITE SAME needs a non-zero length
        BinaryPrimitives.WriteUInt16BigEndian(r[2..], (ushort)Math.Max(1, lun.Disk.PhysicalSectorSize / lun.BlockSize)); // optimal granularity
        BinaryPrimitives.WriteUInt32BigEndian(r[4..], VirtioScsi.MaxTransferBytes / (uint)lun.BlockSize);                // maximum transfer
        if (lun.CanUnmap)
        {
            BinaryPrimitives.WriteUInt32BigEndian(r[16..], ScsiBlockCommands.MaxUnmapBlocks);                             // maximum UNMAP LBA count
            BinaryPrimitives.WriteUInt32BigEndian(r[20..], ScsiBlockCommands.MaxUnmapDescriptors);                        // maximum UNMAP descriptors
            BinaryPrimitives.WriteUInt32BigEndian(r[24..], (uint)Math.Max(1, 4096 / lun.BlockSize));                      // optimal unmap granularity
            BinaryPrimitives.WriteUInt64BigEndian(r[32..], ScsiBlockCommands.MaxUnmapBlocks);                             // maximum WRITE SAME length
        }
        return 0x3C;
    }

    private static int Characteristics(Span<byte> r)
    {
        BinaryPrimitives.WriteUInt16BigEndian(r, 1); // medium rotation rate 1: not rotating
        return 0x3C;
    }

    private static int Provisioning(ScsiLun lun, Span<byte> r)
    {
        if (lun.CanUnmap) r[1] = 0x80 | 0x40 | 0x20 | 0x04; // LBPU (UNMAP), LBPWS (WRITE SAME 16), LBPWS10, LBPRZ: unmapped reads zeros
        r[2] = 0x02;                                         // thin provisioned
        return 4;
    }

    private static int Copy(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        int n = Math.Min(source.Length, 250);
        source[..n].CopyTo(destination);
        return n;
    }

    private static void Pad(string text, Span<byte> field)
    {
        field.Fill((byte)' ');
        Encoding.ASCII.GetBytes(text.AsSpan(0, Math.Min(text.Length, field.Length)), field);
    }
}
