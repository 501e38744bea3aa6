using System.Buffers.Binary;

namespace HyperSharp.Machine.Virtio.Scsi;

/// <summary>
/// MODE SENSE (6) and (10) (SPC-4 6.11/6.12): the header whose device-specific byte carries the write-protect bit Linux's
/// sd reads for read-only disks, a short block descriptor unless DBD, and the caching (08h: write cache on, so the guest
/// sends SYNCHRONIZE CACHE) and control (0Ah) pages. Nothing is changeable and nothing is saved.
/// </summary>
internal static class ScsiModeSense
{
    private const byte CachingPage = 0x08, ControlPage = 0x0A, AllPages = 0x3F;

    public static ScsiOutcome Execute(ScsiLun lun, ReadOnlySpan<byte> cdb, in ScsiDataBuffers data)
    {
        bool ten = cdb[0] == ScsiOp.ModeSense10;
        bool noDescriptor = (cdb[1] & 0x08) != 0;
        int control = cdb[2] >> 6, page = cdb[2] & 0x3F, subpage = cdb[3];
        int allocation = ten ? BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]) : cdb[4];
        if (control == 3) return ScsiOutcome.Check(new SenseCode(SenseCode.KeyIllegalRequest, 0x39, 0x00)); // saving parameters not supported
        if (subpage != 0 && !(page == AllPages && subpage == 0xFF)) return ScsiOutcome.Check(SenseCode.InvalidFieldInCdb);
        if (page is not (CachingPage or ControlPage or AllPages)) return ScsiOutcome.Check(SenseCode.InvalidFieldInCdb);
        bool changeable = control == 1; // the changeable-values mask: all zeros

        Span<byte> r = stackalloc byte[128];
        r.Clear();
        int header = ten ? 8 : 4;
        int at = header;
        if (!noDescriptor)
        {
            long blocks = lun.BlockCount;
            BinaryPrimitives.WriteUInt32BigEndian(r[at..], blocks > uint.MaxValue ? uint.MaxValue : (uint)blocks);
            BinaryPrimitives.WriteUInt32BigEndian(r[(at + 4)..], (uint)lun.BlockSize & 0xFF_FFFF); // byte 4 reserved, then 3-byte block length
            at += 8;
        }
        if (page is CachingPage or AllPages)
        {
            r[at] = CachingPage;
            r[at + 1] = 0x12;
            if (!changeable) r[at + 2] = 0x04; // WCE: the image has a write cache the guest flushes with SYNCHRONIZE CACHE
            at += 20;
        }
        if (page is ControlPage or AllPages)
        {
            r[at] = ControlPage;
            r[at + 1] = 0x0A;
            if (!changeable) r[at + 3] = 0x10; // queue algorithm modifier 1: commands may be reordered
            at += 12;
        }
        byte deviceSpecific = lun.ReadOnly ? (byte)0x80 : (byte)0x00; // WP
        if (ten)
        {
            BinaryPrimitives.WriteUInt16BigEndian(r, (ushort)(at - 2));
            r[3] = deviceSpecific;
            r[7] = noDescriptor ? (byte)0 : (byte)8;
        }
        else
        {
            r[0] = (byte)(at - 1);
            r[2] = deviceSpecific;
            r[3] = noDescriptor ? (byte)0 : (byte)8;
        }
        return ScsiOutcome.Good(data.WriteIn(r[..Math.Min(at, allocation)]));
    }
}
