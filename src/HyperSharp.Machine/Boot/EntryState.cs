using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.Boot;

/// <summary>Turns the planned 64-bit entry into the processor state record every backend accepts.</summary>
public static class EntryState
{
    public static VirtualProcessorState For(LongModeEntry e, ulong apicBase = 0xFEE0_0900)
    {
        const uint present = SegmentRegister.Present, codeOrData = SegmentRegister.CodeOrData;
        var code = new SegmentRegister(e.CodeSelector, 0, 0xFFFF_FFFF, 0xB | codeOrData | present | SegmentRegister.LongMode | SegmentRegister.Granularity);
        var data = new SegmentRegister(e.DataSelector, 0, 0xFFFF_FFFF, 0x3 | codeOrData | present | SegmentRegister.DefaultBig | SegmentRegister.Granularity);
        var gprs = new ulong[16];
        gprs[4] = e.Rsp;
        gprs[6] = e.Rsi;
        return new VirtualProcessorState
        {
            GeneralRegisters = gprs,
            Rip = e.Rip,
            Rflags = 2,
            Cs = code, Ds = data, Es = data, Ss = data, Fs = data, Gs = data,
            Ldtr = new SegmentRegister(0, 0, 0xFFFF, 0x2 | present),
            Tr = new SegmentRegister(0, 0, 0xFFFF, 0xB | present),
            Gdtr = new TableRegister(e.GdtBase, e.GdtLimit),
            Idtr = new TableRegister(0, 0),
            Cr0 = e.Cr0, Cr3 = e.Cr3, Cr4 = e.Cr4, Efer = e.Efer,
            ApicBase = apicBase,
            FxSave = DefaultFxSave(),
        };
    }

    /// <summary>FXSAVE image with the reset values: x87 control word 0x37F, MXCSR 0x1F80.</summary>
    internal static byte[] DefaultFxSave()
    {
        var fx = new byte[512];
        BitConverter.TryWriteBytes(fx.AsSpan(0), (ushort)0x37F);
        BitConverter.TryWriteBytes(fx.AsSpan(24), 0x1F80u);
        return fx;
    }
}
