using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.Virtio.Balloon;

/// <summary>
/// Saved state of a virtio-balloon device: the host's target and what the driver last said it holds (both in 4 KiB
/// pages), the pages the guest gave back through the balloon and by free page reporting, and the statistics buffer the
/// device holds to ask the guest for its next report (the driver waits for it to come back). The pages themselves are
/// not listed: the guest's driver keeps them, and the saved memory holds nothing for them (they read as zeros).
/// Its first version is 2, because version 1 of a device record means the JSON of saved-state files of format 1.
/// </summary>
public sealed record VirtioBalloonState(uint TargetPages, uint ActualPages, ulong InflatedPages, ulong ReportedBytes, int? HeldStatsHead)
    : IStateRecord<VirtioBalloonState>
{
    public static ushort Version => 2;

    public void Write(StateWriter w)
    {
        w.U32(TargetPages); w.U32(ActualPages); w.U64(InflatedPages); w.U64(ReportedBytes); w.OptionalI32(HeldStatsHead);
    }

    public static VirtioBalloonState Read(ref StateReader r, ushort version) => new(r.U32(), r.U32(), r.U64(), r.U64(), r.OptionalI32());
}
