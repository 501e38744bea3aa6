namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>The MSRs this model has: their numbers and what RDMSR and WRMSR do with each (most are fields of
/// <see cref="ArchState"/>; the TSC is the processor's clock; MTRRs and vendor configuration MSRs are plain storage).</summary>
internal static class ModelSpecificRegisters
{
    internal const uint Tsc = 0x10, TscAdjust = 0x3B, ApicBase = 0x1B, MtrrCap = 0xFE, SysenterCs = 0x174, SysenterEsp = 0x175,
        SysenterEip = 0x176, MiscEnable = 0x1A0, Pat = 0x277, MtrrDefType = 0x2FF, TscDeadline = 0x6E0,
        Efer = 0xC0000080, Star = 0xC0000081, Lstar = 0xC0000082, Cstar = 0xC0000083, Sfmask = 0xC0000084,
        FsBase = 0xC0000100, GsBase = 0xC0000101, KernelGsBase = 0xC0000102, TscAux = 0xC0000103,
        AmdHwcr = 0xC0010015;

    /// <summary>HWCR.TscFreqSel: the TSC counts at the P0 frequency, whatever the power state (read-only).</summary>
    private const ulong HwcrTscFreqSel = 1UL << 24;

    /// <summary>
    /// AMD configuration MSRs Linux reads and sets on an AMD processor, some without a fault handler (SYSCFG for the
    /// MTRR setup, NB_CFG for extended PCI configuration access; DE_CFG for a serializing LFENCE): plain storage
    /// reading 0 until written, as nothing here depends on them.
    /// </summary>
    private static bool IsAmdConfiguration(uint msr) => msr is 0xC0010010 or 0xC001001F or 0xC0011029;

    private static bool IsMtrr(uint msr) => msr is >= 0x200 and <= 0x20F or 0x250 or 0x258 or 0x259 or >= 0x268 and <= 0x26F or MtrrDefType;

    /// <summary>RDMSR semantics; false for an MSR this model does not have (the instruction raises #GP(0)).</summary>
    internal static bool TryRead(X86Cpu c, uint msr, out ulong value)
    {
        value = msr switch
        {
            Tsc => c.Tsc,
            ApicBase => c.Arch.ApicBase,
            MtrrCap => 0x508, // 8 variable ranges, fixed ranges, write-combining
            SysenterCs => c.Arch.SysenterCs,
            SysenterEsp => c.Arch.SysenterEsp,
            SysenterEip => c.Arch.SysenterEip,
            MiscEnable => c.Arch.MiscEnable,
            Pat => c.Arch.Pat,
            TscDeadline => c.TscDeadlineRead?.Invoke() ?? c.Arch.TscDeadline,
            Efer => c.Arch.Efer,
            Star => c.Arch.Star,
            Lstar => c.Arch.Lstar,
            Cstar => c.Arch.Cstar,
            Sfmask => c.Arch.Sfmask,
            FsBase => c.Arch.Seg[(int)Seg.Fs].Base,
            GsBase => c.Arch.Seg[(int)Seg.Gs].Base,
            KernelGsBase => c.Arch.KernelGsBase,
            TscAux => c.Arch.TscAux,
            _ when IsMtrr(msr) => c.Arch.OtherMsrs.GetValueOrDefault(msr),
            TscAdjust => (ulong)c.Arch.TscAdjust,
            AmdHwcr when c.Vendor == ProcessorVendor.Amd => c.Arch.OtherMsrs.GetValueOrDefault(AmdHwcr) | HwcrTscFreqSel, // Linux reads it on AMD
            _ when c.Vendor == ProcessorVendor.Amd && IsAmdConfiguration(msr) => c.Arch.OtherMsrs.GetValueOrDefault(msr),
            0x17 => 0,   // IA32_PLATFORM_ID (read by microcode code)
            0x8B => 0,   // IA32_BIOS_SIGN_ID: microcode revision 0
            _ => ulong.MaxValue,
        };
        return value != ulong.MaxValue || msr is Tsc or TscAdjust or Pat or 0x17 or 0x8B
            || (c.Vendor == ProcessorVendor.Amd && IsAmdConfiguration(msr));
    }

    /// <summary>WRMSR semantics; false when the MSR does not exist or the value is invalid (#GP(0)).</summary>
    internal static bool TryWrite(X86Cpu c, uint msr, ulong v)
    {
        static bool Canonical(ulong a) => (ulong)(((long)a << 16) >> 16) == a;
        switch (msr)
        {
            case Tsc: c.Tsc = v; return true; // moves TSC_ADJUST with it
            case TscAdjust: c.Arch.TscAdjust = (long)v; return true; // ...and a TSC_ADJUST write moves the TSC
            case ApicBase: c.Arch.ApicBase = v; return true;
            case SysenterCs: c.Arch.SysenterCs = v & 0xFFFF; return true;
            case SysenterEsp: if (!Canonical(v)) return false; c.Arch.SysenterEsp = v; return true;
            case SysenterEip: if (!Canonical(v)) return false; c.Arch.SysenterEip = v; return true;
            case MiscEnable: c.Arch.MiscEnable = v; return true;
            case Pat:
                for (int i = 0; i < 8; i++) { ulong t = (v >> (i * 8)) & 0xFF; if (t is 2 or 3 or > 7) return false; }
                c.Arch.Pat = v; return true;
            case TscDeadline: c.Arch.TscDeadline = v; c.TscDeadlineWrite?.Invoke(v); return true;
            case Efer: ControlRegisters.WriteEfer(c, v); return true;
            case Star: c.Arch.Star = v; return true;
            case Lstar: if (!Canonical(v)) return false; c.Arch.Lstar = v; return true;
            case Cstar: if (!Canonical(v)) return false; c.Arch.Cstar = v; return true;
            case Sfmask: c.Arch.Sfmask = v & 0xFFFFFFFF; return true;
            case FsBase: if (!Canonical(v)) return false; c.Arch.Seg[(int)Seg.Fs].Base = v; c.UpdateMode(); return true;
            case GsBase: if (!Canonical(v)) return false; c.Arch.Seg[(int)Seg.Gs].Base = v; c.UpdateMode(); return true;
            case KernelGsBase: if (!Canonical(v)) return false; c.Arch.KernelGsBase = v; return true;
            case TscAux: c.Arch.TscAux = v & 0xFFFFFFFF; return true;
            case AmdHwcr when c.Vendor == ProcessorVendor.Amd: c.Arch.OtherMsrs[AmdHwcr] = v & ~HwcrTscFreqSel; return true;
        }
        if (IsMtrr(msr) || (c.Vendor == ProcessorVendor.Amd && IsAmdConfiguration(msr))) { c.Arch.OtherMsrs[msr] = v; return true; }
        if (msr == 0x8B) return true; // writing 0 before CPUID + RDMSR is how the revision is read
        return false;
    }
}
