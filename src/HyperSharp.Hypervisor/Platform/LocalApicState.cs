namespace HyperSharp.Hypervisor.Platform;

/// <summary>Saved state of a local APIC, version 1: the register page as the xAPIC MMIO layout has it, plus timer bookkeeping.</summary>
public sealed record LocalApicState(byte[] Registers, long TimerStartNanoseconds, ulong TscDeadline, bool NmiPending, bool InitPending, int SipiVector)
{
    public const int Version = 1;
}
