namespace HyperSharp.Machine.Devices.Rtc;

/// <summary>Saved state of the CMOS RTC, version 1: the 128 bytes of CMOS, the selected index, and the guest's offset from host time.</summary>
public sealed record CmosRtcState(byte[] Cmos, byte Index, long OffsetSeconds)
{
    public const int Version = 1;
}
