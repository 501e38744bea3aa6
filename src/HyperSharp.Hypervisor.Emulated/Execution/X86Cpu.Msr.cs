namespace HyperSharp.Hypervisor.Emulated.Execution;

public sealed unsafe partial class X86Cpu
{
    private readonly TimestampClock _clock;

    /// <summary>
    /// The local APIC's view of IA32_TSC_DEADLINE (its timer in TSC-deadline mode owns the deadline); when
    /// unset, the MSR is plain storage.
    /// </summary>
    public Func<ulong>? TscDeadlineRead { get; set; }
    public Action<ulong>? TscDeadlineWrite { get; set; }

    /// <summary>Guest TSC rate. The TSC counts host monotonic time at this rate (invariant TSC).</summary>
    public const long TscHz = 1_000_000_000;

    /// <summary>This processor's TSC: the partition's clock plus IA32_TSC_ADJUST. Setting it, as a guest's WRMSR does,
    /// moves TSC_ADJUST by the same amount (SDM 17.17.3); the other processors' TSCs do not move.</summary>
    public ulong Tsc
    {
        get => (ulong)(_clock.Count + Arch.TscAdjust);
        set => Arch.TscAdjust = (long)value - _clock.Count;
    }

    /// <summary>Power-on: IA32_TSC_ADJUST 0 (an INIT keeps it).</summary>
    internal void ResetTimestamp() => Arch.TscAdjust = 0;

    /// <summary>RDMSR semantics; false for an MSR this model does not have (the instruction raises #GP(0)).</summary>
    public bool TryReadMsr(uint msr, out ulong value) => ModelSpecificRegisters.TryRead(this, msr, out value);

    /// <summary>WRMSR semantics; false when the MSR does not exist or the value is invalid (#GP(0)).</summary>
    public bool TryWriteMsr(uint msr, ulong v) => ModelSpecificRegisters.TryWrite(this, msr, v);
}
