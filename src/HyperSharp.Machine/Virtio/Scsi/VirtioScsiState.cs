namespace HyperSharp.Machine.Virtio.Scsi;

/// <summary>A unit attention not yet reported by a LUN (saved state).</summary>
public sealed record ScsiUnitAttentionState(int Lun, byte Key, byte Asc, byte Ascq);

/// <summary>
/// Saved state of a virtio-scsi controller: the CDB and sense sizes the driver chose, events not yet delivered, and unit
/// attentions not yet reported. Which disk sits at which LUN is configuration (the VM's saved configuration). A reader
/// refuses a version newer than <see cref="CurrentVersion"/>.
/// </summary>
public sealed record VirtioScsiState(int Version, int CdbSize, int SenseSize, ScsiPendingEvent[] Events, bool EventsMissed, ScsiUnitAttentionState[] UnitAttentions)
{
    public const int CurrentVersion = 1;
}
