using HyperSharp.Hypervisor.Testing;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Kvm.Tests;

/// <summary>Memory hot-add on KVM: a slot mapped while a processor exists and has run is RAM the processor then uses.</summary>
public sealed class HotAddTests(ITestOutputHelper output)
{
    [Fact]
    public void ASlotMappedBetweenRunsIsRamToTheRunningProcessor()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv, mapRam: false);
        const ulong half = TestGuest.RamSize / 2;
        guest.Partition.MapMemory(new MemorySlot(0, 0, guest.Memory, 0, half));
        guest.Load(TestGuest.CodeAddress, a =>
        {
            a.mov(dx, 0x500);
            a.@out(dx, al);              // the host hot-adds the upper half here
            a.mov(rbx, half + 0x1230);
            a.mov(__qword_ptr[rbx], 0x5EED);
            a.mov(rax, __qword_ptr[rbx]);
            a.mov(rbx, half + 0x2000);
            a.mov(__qword_ptr[rbx], rax);
            a.@out(dx, al);
            a.hlt();
        });
        using var vp = guest.StartProcessor(0);
        var io = new IoStepper(vp);
        Assert.Equal(AddressSpace.Port, io.Next().Space);

        guest.Partition.MapMemory(new MemorySlot(1, half, guest.Memory, half, half));
        Assert.Equal(AddressSpace.Port, io.Next().Space); // the next access is the port, not MMIO: the new range is RAM
        Assert.Equal(0x5EEDUL, guest.Memory.Read<ulong>(half + 0x1230));
        Assert.Equal(0x5EEDUL, guest.Memory.Read<ulong>(half + 0x2000)); // and reads back what it wrote
    }
}
