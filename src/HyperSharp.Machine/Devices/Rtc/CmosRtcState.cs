using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.Devices.Rtc;

/// <summary>Saved state of the CMOS RTC: the 128 bytes of CMOS, the selected index, and the guest's offset from host time. Version 2 binary (1 was JSON).</summary>
public sealed record CmosRtcState(byte[] Cmos, byte Index, long OffsetSeconds) : IStateRecord<CmosRtcState>
{
    public static ushort Version => 2;

    public void Write(StateWriter w) { w.Bytes(Cmos); w.U8(Index); w.I64(OffsetSeconds); }

    public static CmosRtcState Read(ref StateReader r, ushort version) => new(r.Bytes(), r.U8(), r.I64());
}
