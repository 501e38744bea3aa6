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

    public const uint MsrTsc = 0x10, MsrTscAdjust = 0x3B, MsrApicBase = 0x1B, MsrMtrrCap = 0xFE, MsrSysenterCs = 0x174, MsrSysenterEsp = 0x175,
        MsrSysenterEip = 0x176, MsrMiscEnable = 0x1A0, MsrPat = 0x277, MsrMtrrDefType = 0x2FF, MsrTscDeadline = 0x6E0,
        MsrEfer = 0xC0000080, MsrStar = 0xC0000081, MsrLstar = 0xC0000082, MsrCstar = 0xC0000083, MsrSfmask = 0xC0000084,
        MsrFsBase = 0xC0000100, MsrGsBase = 0xC0000101, MsrKernelGsBase = 0xC0000102, MsrTscAux = 0xC0000103,
        MsrAmdHwcr = 0xC0010015;

    /// <summary>HWCR.TscFreqSel: the TSC counts at the P0 frequency, whatever the power state (read-only).</summary>
    private const ulong HwcrTscFreqSel = 1UL << 24;

    /// <summary>
    /// AMD configuration MSRs Linux reads and sets on an AMD processor, some without a fault handler (SYSCFG for the
    /// MTRR setup, NB_CFG for extended PCI configuration access; DE_CFG for a serializing LFENCE): plain storage
    /// reading 0 until written, as nothing here depends on them.
    /// </summary>
    private static bool IsAmdConfiguration(uint msr) => msr is 0xC0010010 or 0xC001001F or 0xC0011029;

    private static bool IsMtrr(uint msr) => msr is >= 0x200 and <= 0x20F or 0x250 or 0x258 or 0x259 or >= 0x268 and <= 0x26F or MsrMtrrDefType;

    /// <summary>RDMSR semantics; false for an MSR this model does not have (the instruction raises #GP(0)).</summary>
    public bool TryReadMsr(uint msr, out ulong value)
    {
        value = msr switch
        {
            MsrTsc => Tsc,
            MsrApicBase => Arch.ApicBase,
            MsrMtrrCap => 0x508, // 8 variable ranges, fixed ranges, write-combining
            MsrSysenterCs => Arch.SysenterCs,
            MsrSysenterEsp => Arch.SysenterEsp,
            MsrSysenterEip => Arch.SysenterEip,
            MsrMiscEnable => Arch.MiscEnable,
            MsrPat => Arch.Pat,
            MsrTscDeadline => TscDeadlineRead?.Invoke() ?? Arch.TscDeadline,
            MsrEfer => Arch.Efer,
            MsrStar => Arch.Star,
            MsrLstar => Arch.Lstar,
            MsrCstar => Arch.Cstar,
            MsrSfmask => Arch.Sfmask,
            MsrFsBase => Arch.Seg[(int)Seg.Fs].Base,
            MsrGsBase => Arch.Seg[(int)Seg.Gs].Base,
            MsrKernelGsBase => Arch.KernelGsBase,
            MsrTscAux => Arch.TscAux,
            _ when IsMtrr(msr) => Arch.OtherMsrs.GetValueOrDefault(msr),
            MsrTscAdjust => (ulong)Arch.TscAdjust,
            MsrAmdHwcr when Vendor == ProcessorVendor.Amd => Arch.OtherMsrs.GetValueOrDefault(MsrAmdHwcr) | HwcrTscFreqSel, // Linux reads it on AMD
            _ when Vendor == ProcessorVendor.Amd && IsAmdConfiguration(msr) => Arch.OtherMsrs.GetValueOrDefault(msr),
            0x17 => 0,   // IA32_PLATFORM_ID (read by microcode code)
            0x8B => 0,   // IA32_BIOS_SIGN_ID: microcode revision 0
            _ => ulong.MaxValue,
        };
        return value != ulong.MaxValue || msr is MsrTsc or MsrTscAdjust or MsrPat or 0x17 or 0x8B
            || (Vendor == ProcessorVendor.Amd && IsAmdConfiguration(msr));
    }

    /// <summary>WRMSR semantics; false when the MSR does not exist or the value is invalid (#GP(0)).</summary>
    public bool TryWriteMsr(uint msr, ulong v)
    {
        static bool Canonical(ulong a) => (ulong)(((long)a << 16) >> 16) == a;
        switch (msr)
        {
            case MsrTsc: Tsc = v; return true; // moves TSC_ADJUST with it
            case MsrTscAdjust: Arch.TscAdjust = (long)v; return true; // ...and a TSC_ADJUST write moves the TSC
            case MsrApicBase: Arch.ApicBase = v; return true;
            case MsrSysenterCs: Arch.SysenterCs = v & 0xFFFF; return true;
            case MsrSysenterEsp: if (!Canonical(v)) return false; Arch.SysenterEsp = v; return true;
            case MsrSysenterEip: if (!Canonical(v)) return false; Arch.SysenterEip = v; return true;
            case MsrMiscEnable: Arch.MiscEnable = v; return true;
            case MsrPat:
                for (int i = 0; i < 8; i++) { ulong t = (v >> (i * 8)) & 0xFF; if (t is 2 or 3 or > 7) return false; }
                Arch.Pat = v; return true;
            case MsrTscDeadline: Arch.TscDeadline = v; TscDeadlineWrite?.Invoke(v); return true;
            case MsrEfer: WriteEfer(v); return true;
            case MsrStar: Arch.Star = v; return true;
            case MsrLstar: if (!Canonical(v)) return false; Arch.Lstar = v; return true;
            case MsrCstar: if (!Canonical(v)) return false; Arch.Cstar = v; return true;
            case MsrSfmask: Arch.Sfmask = v & 0xFFFFFFFF; return true;
            case MsrFsBase: if (!Canonical(v)) return false; Arch.Seg[(int)Seg.Fs].Base = v; UpdateMode(); return true;
            case MsrGsBase: if (!Canonical(v)) return false; Arch.Seg[(int)Seg.Gs].Base = v; UpdateMode(); return true;
            case MsrKernelGsBase: if (!Canonical(v)) return false; Arch.KernelGsBase = v; return true;
            case MsrTscAux: Arch.TscAux = v & 0xFFFFFFFF; return true;
            case MsrAmdHwcr when Vendor == ProcessorVendor.Amd: Arch.OtherMsrs[MsrAmdHwcr] = v & ~HwcrTscFreqSel; return true;
        }
        if (IsMtrr(msr) || (Vendor == ProcessorVendor.Amd && IsAmdConfiguration(msr))) { Arch.OtherMsrs[msr] = v; return true; }
        if (msr == 0x8B) return true; // writing 0 before CPUID + RDMSR is how the revision is read
        return false;
    }
}
