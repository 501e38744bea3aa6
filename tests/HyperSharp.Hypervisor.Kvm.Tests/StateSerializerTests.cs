using System.Buffers.Binary;
using HyperSharp.Hypervisor.State;

namespace HyperSharp.Hypervisor.Kvm.Tests;

/// <summary>The versioned byte format of VirtualProcessorState: round trip, older streams, damage and newer versions.</summary>
public sealed class StateSerializerTests
{
    private static VirtualProcessorState Sample()
    {
        var gpr = new ulong[16];
        for (int i = 0; i < 16; i++) gpr[i] = (ulong)i * 0x1111;
        var fx = new byte[512];
        fx[160] = 0x5A;
        return new VirtualProcessorState
        {
            GeneralRegisters = gpr, Rip = 0xFFFF_8000_0010_0000, Rflags = 0x202,
            Cs = new SegmentRegister(0x10, 0, 0xFFFF_FFFF, 0xA09B), Tr = new SegmentRegister(0x40, 0x1234, 0x67, 0x8B),
            Gdtr = new TableRegister(0x5000, 0x7F), Idtr = new TableRegister(0x6000, 0xFFF),
            Cr0 = 0x8005_0033, Cr3 = 0x1000, Cr4 = 0x6F0, Efer = 0xD01, ApicBase = 0xFEE0_0900, Xcr0 = 7,
            DebugAddress = [1, 2, 3, 4], Dr6 = 0xFFFF_0FF0, Dr7 = 0x400,
            Msrs = [new MsrEntry(0xC000_0082, 0xFFFF_FFFF_8100_0000), new MsrEntry(0x277, 0x0007_0406_0007_0406)],
            FxSave = fx, XSave = new byte[4096], LocalApic = new byte[1024],
            Events = new PendingEvents { InterruptShadow = 1, NmiMasked = true, ExceptionPending = true, ExceptionVector = 14, ExceptionHasErrorCode = true, ExceptionErrorCode = 2 },
            RunState = ProcessorRunState.Halted, Tsc = 123456789,
        };
    }

    [Fact]
    public void RoundTrip_PreservesEveryField()
    {
        var state = Sample();
        byte[] bytes = VirtualProcessorStateSerializer.Serialize(state);
        var back = VirtualProcessorStateSerializer.Deserialize(bytes);
        Assert.Equal(state.GeneralRegisters, back.GeneralRegisters);
        Assert.Equal((state.Rip, state.Cs, state.Tr, state.Gdtr, state.Efer, state.Xcr0, state.Tsc, state.RunState, state.Events),
                     (back.Rip, back.Cs, back.Tr, back.Gdtr, back.Efer, back.Xcr0, back.Tsc, back.RunState, back.Events));
        Assert.Equal(state.Msrs, back.Msrs);
        Assert.Equal(state.FxSave, back.FxSave);
        Assert.Equal(state.DebugAddress, back.DebugAddress);
        Assert.Equal(bytes, VirtualProcessorStateSerializer.Serialize(back));
    }

    [Fact]
    public void OlderStream_WithoutSomeSections_ReadsWithDefaults_AndUnknownSectionsAreSkipped()
    {
        byte[] full = VirtualProcessorStateSerializer.Serialize(Sample());
        // Rebuild the stream as an older writer would have: no XSAVE (8) and TSC (12) sections, plus one unknown tag.
        var kept = new List<byte>(full[..6]);
        int at = 6;
        while (at < full.Length)
        {
            ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(full.AsSpan(at));
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(full.AsSpan(at + 2));
            if (tag is not (8 or 12)) kept.AddRange(full.AsSpan(at, 6 + length).ToArray());
            at += 6 + length;
        }
        kept.AddRange(new byte[] { 0xFF, 0x7F, 3, 0, 0, 0, 1, 2, 3 }); // tag 0x7FFF, 3 bytes

        var state = VirtualProcessorStateSerializer.Deserialize(kept.ToArray());
        Assert.Empty(state.XSave);
        Assert.Equal(0UL, state.Tsc);
        Assert.Equal(Sample().Rip, state.Rip);
        Assert.Equal(Sample().Msrs, state.Msrs);
    }

    [Fact]
    public void DamagedOrNewerStreams_AreRefusedClearly()
    {
        byte[] bytes = VirtualProcessorStateSerializer.Serialize(Sample());
        Assert.Throws<InvalidDataException>(() => VirtualProcessorStateSerializer.Deserialize(bytes.AsSpan(0, bytes.Length - 3)));
        Assert.Throws<InvalidDataException>(() => VirtualProcessorStateSerializer.Deserialize(new byte[] { 1, 2, 3, 4, 5, 6 }));
        var newer = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(newer.AsSpan(4), VirtualProcessorStateSerializer.CurrentVersion + 1);
        var ex = Assert.Throws<InvalidDataException>(() => VirtualProcessorStateSerializer.Deserialize(newer));
        Assert.Contains("newer", ex.Message);
    }
}
