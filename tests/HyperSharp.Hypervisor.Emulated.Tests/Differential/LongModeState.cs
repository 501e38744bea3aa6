using HyperSharp.Hypervisor.State;

namespace HyperSharp.Hypervisor.Emulated.Tests.Differential;

/// <summary>The processor state of the differential guests: flat 64-bit code and data segments at one privilege level,
/// a TSS, 4-level paging with WP, NXE, OSFXSR and OSXMMEXCPT; whatever the backend.</summary>
internal static class LongModeState
{
    public static VirtualProcessorState Flat(VirtualProcessorState s, ushort cs, ushort ds, int dpl, ushort tss, ulong tssBase,
        TableRegister gdt, TableRegister idt, ulong pml4, ulong rip, ulong rsp, ulong rflags)
    {
        uint common = SegmentRegister.Present | SegmentRegister.CodeOrData | (uint)dpl << 5 | SegmentRegister.Granularity;
        var code = new SegmentRegister(cs, 0, 0xFFFF_FFFF, 0xB | common | SegmentRegister.LongMode);
        var data = new SegmentRegister(ds, 0, 0xFFFF_FFFF, 0x3 | common | SegmentRegister.DefaultBig);
        var tr = new SegmentRegister(tss, tssBase, 0x67, 0xB | SegmentRegister.Present);
        var ldtr = new SegmentRegister(0, 0, 0xFFFF, 0x2 | SegmentRegister.Present | SegmentRegister.Unusable);
        var gpr = new ulong[16];
        gpr[(int)GeneralRegister.Rsp] = rsp;
        return s with
        {
            GeneralRegisters = gpr, Rip = rip, Rflags = rflags,
            Cs = code, Ds = data, Es = data, Ss = data, Fs = data, Gs = data, Tr = tr, Ldtr = ldtr, Gdtr = gdt, Idtr = idt,
            Cr0 = 0x8005_0033, // PG WP NE ET MP PE
            Cr3 = pml4,
            Cr4 = 0x620,       // PAE OSFXSR OSXMMEXCPT
            Efer = 0xD00,      // NXE LMA LME
            RunState = ProcessorRunState.Runnable,
        };
    }
}
