using HyperSharp.Hypervisor.Testing;
using HyperSharp.Hypervisor.State;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Kvm.Tests;

/// <summary>Saving a running guest's processor state to bytes and resuming it in a new partition (the saved-state / migration path).</summary>
public sealed class StateRoundTripTests(ITestOutputHelper output)
{
    private const ulong Mmio = 0x1000_0000, DataAddress = 0x9000;
    private const uint Lstar = 0xC000_0082;

    [Fact]
    public void State_SerializedAndSetOnNewPartition_GuestContinuesCorrectly()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var source = new TestGuest(hv);
        source.Load(TestGuest.CodeAddress, a =>
        {
            // Phase 1: leave marks in registers, SSE, an MSR, the stack and memory; then stop at port 0x500.
            a.mov(rbx, 0x1111_2222_3333_4444UL);
            a.mov(r15, 0x5555_6666_7777_8888UL);
            // SSE through memory: KVM's instruction emulator (which runs kernel code on paravirtual hosts) has MOVDQU, not MOVQ xmm, r64.
            a.mov(rsi, DataAddress);
            a.mov(rax, 0x0123_4567_89AB_CDEFUL);
            a.mov(__qword_ptr[rsi + 16], rax);
            a.movdqu(xmm0, __xmmword_ptr[rsi + 16]);
            a.mov(__qword_ptr[rsi + 16], 0);
            a.mov(ecx, Lstar);
            a.mov(eax, 0xFFFF_8000u);
            a.mov(edx, 0xFFFF_FFFFu);
            a.wrmsr();
            a.mov(rax, 0xABCD_EF01UL);
            a.push(rax);
            a.mov(__qword_ptr[rsi], 0x77);
            a.mov(dx, 0x500);
            a.@out(dx, al);
            // Phase 2 (in the new partition): report every mark through 8-byte MMIO writes.
            a.mov(rdi, Mmio);
            a.mov(__qword_ptr[rdi], rbx);
            a.mov(__qword_ptr[rdi], r15);
            a.movdqu(__xmmword_ptr[rsi + 32], xmm0);
            a.mov(rax, __qword_ptr[rsi + 32]);
            a.mov(__qword_ptr[rdi], rax);
            a.mov(ecx, Lstar);
            a.rdmsr();
            a.shl(rdx, 32);
            a.or(rax, rdx);
            a.mov(__qword_ptr[rdi], rax);
            a.pop(rax);
            a.mov(__qword_ptr[rdi], rax);
            a.mov(rax, __qword_ptr[rsi]);
            a.mov(__qword_ptr[rdi], rax);
            a.rdtsc();
            a.shl(rdx, 32);
            a.or(rax, rdx);
            a.mov(__qword_ptr[rdi], rax);
            a.hlt();
        });
        using var vp = source.StartProcessor(0);
        var stop = new IoStepper(vp).Next();
        output.WriteLine("first exit: " + stop.ToString());
        Assert.Equal((AddressSpace.Port, 0x500UL), (stop.Space, stop.Address));

        VirtualProcessorState saved = vp.GetState();
        byte[] bytes = VirtualProcessorStateSerializer.Serialize(saved);
        output.WriteLine($"state: {bytes.Length} bytes, {saved.Msrs.Length} MSRs, XSAVE {saved.XSave.Length} bytes, LAPIC {saved.LocalApic.Length} bytes");
        Assert.Equal(bytes, VirtualProcessorStateSerializer.Serialize(VirtualProcessorStateSerializer.Deserialize(bytes)));
        Assert.Contains(saved.Msrs, m => m.Index == Lstar && m.Value == 0xFFFF_FFFF_FFFF_8000UL);

        // A new partition with a copy of guest memory, a new vCPU, the deserialized state.
        using var target = new TestGuest(hv);
        source.Memory.GetSpan(0, (int)TestGuest.RamSize).CopyTo(target.Memory.GetSpan(0, (int)TestGuest.RamSize));
        using var resumed = target.Partition.CreateProcessor(0);
        resumed.SetState(VirtualProcessorStateSerializer.Deserialize(bytes));

        ulong[] expected = [0x1111_2222_3333_4444UL, 0x5555_6666_7777_8888UL, 0x0123_4567_89AB_CDEFUL, 0xFFFF_FFFF_FFFF_8000UL, 0xABCD_EF01UL, 0x77UL];
        foreach (ulong value in expected)
        {
            var e = new IoStepper(resumed).Next();
            Assert.Equal((AddressSpace.Mmio, true, Mmio, 8), (e.Space, e.IsWrite, e.Address, e.Size));
            Assert.Equal(value, e.Value);
        }
        var tsc = new IoStepper(resumed).Next();
        Assert.Equal(AddressSpace.Mmio, tsc.Space);
        Assert.True(tsc.Value >= saved.Tsc, $"guest TSC {tsc.Value} went back from saved {saved.Tsc}");
    }

    [Fact]
    public void State_SetThenGet_OnSameProcessor_IsUnchanged()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv);
        using var vp = guest.StartProcessor(0);
        var first = vp.GetState() with { Tsc = 0 };
        vp.SetState(first);
        var second = vp.GetState() with { Tsc = 0 };
        Assert.Equal(VirtualProcessorStateSerializer.Serialize(first), VirtualProcessorStateSerializer.Serialize(second));
    }

    [Fact]
    public void SetState_Inconsistent_IsRefusedWithTheFailingStep()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv);
        using var vp = guest.StartProcessor(0);
        var longMode = vp.GetState();
        var ex = Assert.Throws<HypervisorException>(() => vp.SetState(longMode with { Cr4 = 0 })); // long mode without PAE
        Assert.Contains("KVM_SET_SREGS", ex.Message);
        Assert.Throws<HypervisorException>(() => vp.SetState(longMode with { FxSave = new byte[10] }));
    }
}
