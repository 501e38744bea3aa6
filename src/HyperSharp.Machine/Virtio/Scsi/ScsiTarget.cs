namespace HyperSharp.Machine.Virtio.Scsi;

/// <summary>
/// The one target of a controller and its 64 LUNs: which disk sits at which LUN (changed while requests run on other
/// threads: a slot is swapped atomically, and a request holds its LUN until it finishes), and the command dispatch that
/// answers for the target (REPORT LUNS, INQUIRY of an empty LUN) or for the LUN's disk, with unit attentions reported
/// as SPC-4 says and every malformed or unknown command refused with sense data.
/// </summary>
internal sealed class ScsiTarget
{
    private readonly ScsiLun?[] _luns = new ScsiLun?[VirtioScsi.LunCount];

    public ScsiLun? this[int lun] => lun is >= 0 and < VirtioScsi.LunCount ? Volatile.Read(ref _luns[lun]) : null;

    /// <summary>Puts a disk at its LUN; the LUN must be empty.</summary>
    public void Attach(ScsiLun lun)
    {
        if (Interlocked.CompareExchange(ref _luns[lun.Number], lun, null) is { } present)
            throw new InvalidOperationException($"SCSI location {lun.Number} already holds {present.Disk.Path}");
    }

    /// <summary>Empties a LUN; the returned LUN still serves the requests already running (await its Detach).</summary>
    public ScsiLun? Remove(int lun) => lun is >= 0 and < VirtioScsi.LunCount ? Interlocked.Exchange(ref _luns[lun], null) : null;

    public ScsiOutcome Execute(int lunNumber, ReadOnlySpan<byte> cdb, in ScsiDataBuffers data)
    {
        byte opcode = cdb[0];
        int length = ScsiOp.CdbLength(opcode);
        if (length == 0) return ScsiOutcome.Check(SenseCode.InvalidOpcode);
        if (length > cdb.Length) return ScsiOutcome.Check(SenseCode.InvalidFieldInCdb);
        cdb = cdb[..length];
        if (opcode == ScsiOp.ReportLuns) return ScsiReports.ReportLuns(_luns, cdb, data);
        var lun = this[lunNumber];
        if (lun is not null && !lun.TryEnter()) lun = null; // removed a moment ago
        if (lun is null)
        {
            return opcode switch
            {
                ScsiOp.Inquiry => ScsiInquiry.Execute(null, cdb, data),
                ScsiOp.RequestSense => ScsiReports.RequestSense(SenseCode.LunNotSupported, cdb, data),
                _ => ScsiOutcome.Check(SenseCode.LunNotSupported),
            };
        }
        try
        {
            if (opcode is not (ScsiOp.Inquiry or ScsiOp.RequestSense) && lun.TakeUnitAttention() is { } attention)
                return ScsiOutcome.Check(attention);
            return Dispatch(lun, cdb, data);
        }
        finally { lun.Exit(); }
    }

    private static ScsiOutcome Dispatch(ScsiLun lun, ReadOnlySpan<byte> cdb, in ScsiDataBuffers data)
    {
        switch (cdb[0])
        {
            case ScsiOp.TestUnitReady or ScsiOp.StartStopUnit or ScsiOp.PreventAllowMediumRemoval:
                return ScsiOutcome.Good();
            case ScsiOp.Inquiry: return ScsiInquiry.Execute(lun, cdb, data);
            case ScsiOp.RequestSense: return ScsiReports.RequestSense(lun.TakeUnitAttention() ?? SenseCode.None, cdb, data);
            case ScsiOp.Read6 or ScsiOp.Read10 or ScsiOp.Read12 or ScsiOp.Read16: return ScsiBlockCommands.ReadWrite(lun, cdb, data, write: false);
            case ScsiOp.Write6 or ScsiOp.Write10 or ScsiOp.Write12 or ScsiOp.Write16: return ScsiBlockCommands.ReadWrite(lun, cdb, data, write: true);
            case ScsiOp.Verify10 or ScsiOp.Verify12 or ScsiOp.Verify16: return ScsiBlockCommands.Verify(lun, cdb);
            case ScsiOp.SynchronizeCache10 or ScsiOp.SynchronizeCache16: return ScsiBlockCommands.SynchronizeCache(lun);
            case ScsiOp.ReadCapacity10: return ScsiBlockCommands.ReadCapacity10(lun, data);
            case ScsiOp.ServiceActionIn16 when (cdb[1] & 0x1F) == ScsiOp.ReadCapacity16: return ScsiBlockCommands.ReadCapacity16(lun, cdb, data);
            case ScsiOp.Unmap: return ScsiBlockCommands.Unmap(lun, cdb, data);
            case ScsiOp.WriteSame10 or ScsiOp.WriteSame16: return ScsiBlockCommands.WriteSame(lun, cdb, data);
            case ScsiOp.ModeSense6 or ScsiOp.ModeSense10: return ScsiModeSense.Execute(lun, cdb, data);
            case ScsiOp.MaintenanceIn when (cdb[1] & 0x1F) == ScsiOp.ReportSupportedOpcodes: return ScsiReports.SupportedOpcodes(cdb, data);
            case ScsiOp.ServiceActionIn16 or ScsiOp.MaintenanceIn: return ScsiOutcome.Check(SenseCode.InvalidFieldInCdb); // other service actions
            default: return ScsiOutcome.Check(SenseCode.InvalidOpcode);
        }
    }
}
