using System.Buffers.Binary;

namespace HyperSharp.Machine.Virtio.Scsi;

/// <summary>
/// The commands that report on the target rather than move data: REPORT LUNS (the LUNs present now, in the
/// single-level peripheral format that Linux's scan and virtio-scsi's events agree on), REQUEST SENSE, and
/// REPORT SUPPORTED OPERATION CODES (how Linux learns that WRITE SAME works).
/// </summary>
internal static class ScsiReports
{
    /// <summary>The commands <see cref="ScsiTarget"/> serves: opcode, service action (or -1) and CDB length.</summary>
    private static readonly (byte Opcode, int ServiceAction, byte Length)[] Supported =
    [
        (ScsiOp.TestUnitReady, -1, 6), (ScsiOp.RequestSense, -1, 6), (ScsiOp.Read6, -1, 6), (ScsiOp.Write6, -1, 6),
        (ScsiOp.Inquiry, -1, 6), (ScsiOp.ModeSense6, -1, 6), (ScsiOp.StartStopUnit, -1, 6), (ScsiOp.PreventAllowMediumRemoval, -1, 6),
        (ScsiOp.ReadCapacity10, -1, 10), (ScsiOp.Read10, -1, 10), (ScsiOp.Write10, -1, 10), (ScsiOp.Verify10, -1, 10),
        (ScsiOp.SynchronizeCache10, -1, 10), (ScsiOp.WriteSame10, -1, 10), (ScsiOp.Unmap, -1, 10), (ScsiOp.ModeSense10, -1, 10),
        (ScsiOp.Read16, -1, 16), (ScsiOp.Write16, -1, 16), (ScsiOp.Verify16, -1, 16), (ScsiOp.SynchronizeCache16, -1, 16),
        (ScsiOp.WriteSame16, -1, 16), (ScsiOp.ServiceActionIn16, ScsiOp.ReadCapacity16, 16), (ScsiOp.ReportLuns, -1, 12),
        (ScsiOp.MaintenanceIn, ScsiOp.ReportSupportedOpcodes, 12), (ScsiOp.Read12, -1, 12), (ScsiOp.Write12, -1, 12), (ScsiOp.Verify12, -1, 12),
    ];

    public static ScsiOutcome ReportLuns(ScsiLun?[] luns, ReadOnlySpan<byte> cdb, in ScsiDataBuffers data)
    {
        uint allocation = BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]);
        if (cdb[2] > 2 || allocation < 16) return ScsiOutcome.Check(SenseCode.InvalidFieldInCdb); // select report 0-2; SPC-4 asks for room for one LUN
        Span<byte> r = stackalloc byte[8 + 8 * VirtioScsi.LunCount];
        r.Clear();
        int count = 0;
        for (int lun = 0; lun < luns.Length; lun++)
        {
            if (Volatile.Read(ref luns[lun]) is null) continue;
            r[8 + 8 * count + 1] = (byte)lun; // peripheral device addressing, bus 0: byte 0 = 0, byte 1 = LUN
            count++;
        }
        BinaryPrimitives.WriteUInt32BigEndian(r, (uint)(8 * count));
        return ScsiOutcome.Good(data.WriteIn(r[..(int)Math.Min(allocation, (uint)(8 + 8 * count))]));
    }

    /// <summary>REQUEST SENSE: the given sense (NO SENSE when nothing is pending) as fixed-format data, with GOOD status.</summary>
    public static ScsiOutcome RequestSense(SenseCode sense, ReadOnlySpan<byte> cdb, in ScsiDataBuffers data)
    {
        if ((cdb[1] & 0x01) != 0) return ScsiOutcome.Check(SenseCode.InvalidFieldInCdb); // descriptor format is not offered
        Span<byte> r = stackalloc byte[18];
        int n = sense.WriteFixed(r);
        return ScsiOutcome.Good(data.WriteIn(r[..Math.Min(n, (int)cdb[4])]));
    }

    public static ScsiOutcome SupportedOpcodes(ReadOnlySpan<byte> cdb, in ScsiDataBuffers data)
    {
        int options = cdb[2] & 0x07;
        byte opcode = cdb[3];
        int action = BinaryPrimitives.ReadUInt16BigEndian(cdb[4..]);
        uint allocation = BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]);
        Span<byte> r = stackalloc byte[4 + 8 * 32];
        r.Clear();
        int length;
        if (options == 0)
        {
            int at = 4;
            foreach (var (op, sa, cdbLength) in Supported)
            {
                r[at] = op;
                if (sa >= 0) { BinaryPrimitives.WriteUInt16BigEndian(r[(at + 2)..], (ushort)sa); r[at + 5] = 0x01; } // SERVACTV
                BinaryPrimitives.WriteUInt16BigEndian(r[(at + 6)..], cdbLength);
                at += 8;
            }
            BinaryPrimitives.WriteUInt32BigEndian(r, (uint)(at - 4));
            length = at;
        }
        else if (options is 1 or 2 or 3)
        {
            int match = Array.FindIndex(Supported, s => s.Opcode == opcode && (s.ServiceAction < 0 || s.ServiceAction == action));
            bool needsAction = Array.Exists(Supported, s => s.Opcode == opcode && s.ServiceAction >= 0);
            if ((options == 1 && needsAction) || (options == 2 && !needsAction && match >= 0)) return ScsiOutcome.Check(SenseCode.InvalidFieldInCdb);
            if (match < 0) { r[1] = 0x01; length = 4; } // not supported
            else
            {
                byte cdbLength = Supported[match].Length;
                r[1] = 0x03; // supported as the standard says
                BinaryPrimitives.WriteUInt16BigEndian(r[2..], cdbLength);
                r[4] = opcode;
                r.Slice(5, cdbLength - 1).Fill(0xFF); // usage map: every field may be set
                length = 4 + cdbLength;
            }
        }
        else return ScsiOutcome.Check(SenseCode.InvalidFieldInCdb);
        return ScsiOutcome.Good(data.WriteIn(r[..(int)Math.Min(allocation, (uint)length)]));
    }
}
