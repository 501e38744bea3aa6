using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.Firmware;

/// <summary>
/// The boot processor's power-on state for a firmware VM: real mode at F000:FFF0, the architectural reset values.
/// One difference: CS's hidden base is 0xF0000, so the reset vector is fetched from the image's copy below 1 MiB
/// (the same bytes) rather than from 0xFFFFFFF0. Neither backend executes from device memory (the Emulated processor
/// fetches only RAM; KVM cannot run code from an MMIO exit), and the firmware's first instruction is a far jump into
/// the F segment that reloads CS anyway.
/// </summary>
public static class ResetVectorState
{
    public static VirtualProcessorState Create(ulong apicBase = 0xFEE0_0900)
    {
        const uint present = SegmentRegister.Present, codeOrData = SegmentRegister.CodeOrData;
        var data = new SegmentRegister(0, 0, 0xFFFF, 0x3 | codeOrData | present);
        return new VirtualProcessorState
        {
            Rip = 0xFFF0,
            Rflags = 2,
            Cs = new SegmentRegister(0xF000, 0xF_0000, 0xFFFF, 0xB | codeOrData | present),
            Ds = data, Es = data, Ss = data, Fs = data, Gs = data,
            Ldtr = new SegmentRegister(0, 0, 0xFFFF, 0x2 | present),
            Tr = new SegmentRegister(0, 0, 0xFFFF, 0xB | present),
            Gdtr = new TableRegister(0, 0xFFFF),
            Idtr = new TableRegister(0, 0xFFFF),
            Cr0 = 0x6000_0010,
            ApicBase = apicBase,
            Dr6 = 0xFFFF_0FF0, Dr7 = 0x400,
            FxSave = Boot.EntryState.DefaultFxSave(),
        };
    }
}
