namespace HyperSharp.Machine.Virtio.Scsi;

/// <summary>How a command ended: the virtio response, the SCSI status with its sense, and the data-in bytes returned.</summary>
internal readonly record struct ScsiOutcome(byte Response, byte Status, SenseCode Sense, long DataIn)
{
    public static ScsiOutcome Good(long dataIn = 0) => new(VirtioScsi.ResponseOk, ScsiOp.StatusGood, SenseCode.None, dataIn);

    public static ScsiOutcome Check(SenseCode sense) => new(VirtioScsi.ResponseOk, ScsiOp.StatusCheckCondition, sense, 0);

    /// <summary>A transport-level answer (OVERRUN, BAD_TARGET, FAILURE...) with no SCSI status.</summary>
    public static ScsiOutcome Transport(byte response) => new(response, ScsiOp.StatusGood, SenseCode.None, 0);
}
