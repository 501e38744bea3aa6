using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.Virtio.Scsi;

/// <summary>A unit attention not yet reported by a LUN (saved state).</summary>
public sealed record ScsiUnitAttentionState(int Lun, byte Key, byte Asc, byte Ascq);

/// <summary>
/// Saved state of a virtio-scsi controller: the CDB and sense sizes the driver chose, events not yet delivered, and unit
/// attentions not yet reported. Which disk sits at which LUN is configuration (the VM's saved configuration). Its first
/// version is 2, because version 1 of a device record means the JSON of saved-state files of format 1, which never held
/// this device.
/// </summary>
public sealed record VirtioScsiState(int CdbSize, int SenseSize, ScsiPendingEvent[] Events, bool EventsMissed, ScsiUnitAttentionState[] UnitAttentions)
    : IStateRecord<VirtioScsiState>
{
    public static ushort Version => 2;

    public void Write(StateWriter w)
    {
        w.I32(CdbSize); w.I32(SenseSize);
        w.Array(Events, static (w, e) => { w.U32(e.Event); w.I32(e.Lun); w.U32(e.Reason); });
        w.Bool(EventsMissed);
        w.Array(UnitAttentions, static (w, u) => { w.I32(u.Lun); w.U8(u.Key); w.U8(u.Asc); w.U8(u.Ascq); });
    }

    public static VirtioScsiState Read(ref StateReader r, ushort version) => new(r.I32(), r.I32(),
        r.Array(12, static (ref StateReader r) => new ScsiPendingEvent(r.U32(), r.I32(), r.U32())),
        r.Bool(),
        r.Array(7, static (ref StateReader r) => new ScsiUnitAttentionState(r.I32(), r.U8(), r.U8(), r.U8())));
}
