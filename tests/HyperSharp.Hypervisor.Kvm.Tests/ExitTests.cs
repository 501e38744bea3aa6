using HyperSharp.Hypervisor.Testing;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Kvm.Tests;

/// <summary>Port I/O and MMIO through the dispatcher, HLT and shutdown exits, from small long-mode guests. Test ports are 0x5xx: 0x61 and 0x40-0x43 belong to the in-kernel PIT.</summary>
public sealed class ExitTests(ITestOutputHelper output)
{
    [Fact]
    public void PortIo_InAndOut_CarryDataBothWays()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv);
        guest.Load(TestGuest.CodeAddress, a =>
        {
            a.mov(dx, 0x510);
            a.@in(al, dx);            // host answers 0x5A
            a.add(al, 1);
            a.mov(dx, 0x511);
            a.@out(dx, al);           // expect 0x5B
            a.mov(dx, 0x512);
            a.@in(eax, dx);           // host answers 0x12345678
            a.not(eax);
            a.@out(dx, eax);          // expect ~0x12345678
            a.hlt();
        });
        using var vp = guest.StartProcessor(0);
        var io = new IoStepper(vp) { Answer = a => a.Size == 1 ? 0x5AUL : 0x12345678UL };

        var e = io.Next();
        Assert.Equal((AddressSpace.Port, 0x510UL, false, 1, 0x5AUL), (e.Space, e.Address, e.IsWrite, e.Size, e.Value));

        // A stop the dispatcher requests ends Run with the IN finished: AL holds the answer and RIP is past the instruction.
        var state = vp.GetState();
        Assert.Equal(0x5AUL, state.GeneralRegisters[0] & 0xFF);
        Assert.Equal(TestGuest.CodeAddress + 5, state.Rip); // mov dx, imm16 (4 bytes) + in al, dx (1)

        e = io.Next();
        Assert.Equal((0x511UL, true, 1, 0x5BUL), (e.Address, e.IsWrite, e.Size, e.Value));
        e = io.Next();
        Assert.Equal((0x512UL, false, 4), (e.Address, e.IsWrite, e.Size));
        e = io.Next();
        Assert.Equal((0x512UL, true, 4), (e.Address, e.IsWrite, e.Size));
        Assert.Equal(~0x12345678u, (uint)e.Value);
    }

    [Fact]
    public void StringPortIo_ReachesTheDispatcherOneElementAtATime()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv, new PartitionOptions { InterruptControllers = false, IntervalTimer = false });
        const ulong source = TestGuest.CodeAddress + 0x800, target = TestGuest.CodeAddress + 0xC00;
        guest.Memory.Write(source, [0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);
        guest.Load(TestGuest.CodeAddress, a =>
        {
            a.mov(rsi, source);
            a.mov(ecx, 3);
            a.mov(dx, 0x520);
            a.rep.outsw();            // three 2-byte writes
            a.mov(rdi, target);
            a.mov(ecx, 2);
            a.rep.insd();             // two 4-byte reads
            a.hlt();
        });
        using var vp = guest.StartProcessor(0);
        uint next = 0xA0A0_0000;
        var io = new IoStepper(vp) { Answer = _ => ++next };

        Assert.Equal(ExitKind.Halt, io.RunToExit().Kind);
        Assert.Equal([0x2211UL, 0x4433UL, 0x6655UL], io.All.Where(a => a.IsWrite).Select(a => a.Value));
        Assert.All(io.All, a => Assert.Equal((AddressSpace.Port, 0x520UL), (a.Space, a.Address)));
        Assert.Equal([2, 2, 2, 4, 4], io.All.Select(a => a.Size));
        Assert.Equal(0xA0A0_0001u, guest.Memory.Read<uint>(target));
        Assert.Equal(0xA0A0_0002u, guest.Memory.Read<uint>(target + 4));
    }

    [Fact]
    public void Mmio_ReadAndWrite_ReachTheDispatcherWithAddressSizeAndData()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv);
        const ulong device = 0x1000_0000; // inside the identity map, outside RAM
        guest.Load(TestGuest.CodeAddress, a =>
        {
            a.mov(rbx, device);
            a.mov(eax, 0xDEADBEEF);
            a.mov(__dword_ptr[rbx], eax);  // MMIO write, 4 bytes
            a.mov(rcx, __qword_ptr[rbx + 8]); // MMIO read, 8 bytes; host answers
            a.mov(dx, 0x511);
            a.mov(rax, rcx);
            a.@out(dx, eax);
            a.shr(rax, 32);
            a.@out(dx, eax);
            a.hlt();
        });
        using var vp = guest.StartProcessor(0);
        var io = new IoStepper(vp) { Answer = _ => 0x0123_4567_89AB_CDEF };

        var e = io.Next();
        Assert.Equal((AddressSpace.Mmio, true, device, 4, 0xDEADBEEFUL), (e.Space, e.IsWrite, e.Address, e.Size, e.Value));
        e = io.Next();
        Assert.Equal((AddressSpace.Mmio, false, device + 8, 8), (e.Space, e.IsWrite, e.Address, e.Size));
        Assert.Equal(0x89AB_CDEFUL, io.Next().Value);
        Assert.Equal(0x0123_4567UL, io.Next().Value);
    }

    [Fact]
    public void ReadOnlySlot_ReadsMemory_WritesReachTheDispatcherAsMmio()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv);
        using var rom = GuestMemory.Allocate(0x1000);
        rom.Write<ulong>(0, 0xC0FFEE);
        const ulong romAddress = 0x0040_0000;
        guest.Partition.MapMemory(new MemorySlot(1, romAddress, rom, 0, 0x1000, MemorySlotFlags.ReadOnly));
        guest.Load(TestGuest.CodeAddress, a =>
        {
            a.mov(rbx, romAddress);
            a.mov(eax, __dword_ptr[rbx]);
            a.mov(dx, 0x511);
            a.@out(dx, eax);
            a.mov(__dword_ptr[rbx], 0x1234);
            a.hlt();
        });
        using var vp = guest.StartProcessor(0);
        var io = new IoStepper(vp);

        var e = io.Next();
        Assert.Equal((AddressSpace.Port, 0xC0FFEEUL), (e.Space, e.Value));
        e = io.Next();
        Assert.Equal((AddressSpace.Mmio, true, romAddress, 0x1234UL), (e.Space, e.IsWrite, e.Address, e.Value));
        Assert.Equal(0xC0FFEEUL, rom.Read<ulong>(0));
    }

    [Fact]
    public void Hlt_WithoutInterruptControllers_ExitsAsHalt()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv, new PartitionOptions { InterruptControllers = false, IntervalTimer = false });
        guest.Load(TestGuest.CodeAddress, a => a.hlt());
        using var vp = guest.StartProcessor(0);
        Assert.Equal(ExitKind.Halt, new IoStepper(vp).RunToExit().Kind);
    }

    [Fact]
    public void TripleFault_ExitsAsShutdown()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv);
        guest.Load(TestGuest.CodeAddress, a =>
        {
            a.lidt(__[rbx]); // rbx = 0 → IDT limit 0 from memory at 0 (zeroed): every exception escalates
            a.ud2();
        });
        using var vp = guest.StartProcessor(0);
        var e = new IoStepper(vp).RunToExit();
        Assert.Equal(ExitKind.Shutdown, e.Kind);
    }

    [Fact]
    public void UnmappedSlot_AccessesBecomeMmio()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv);
        using var extra = GuestMemory.Allocate(0x1000);
        const ulong address = 0x0040_0000;
        guest.Partition.MapMemory(new MemorySlot(1, address, extra, 0, 0x1000));
        guest.Load(TestGuest.CodeAddress, a =>
        {
            a.mov(rbx, address);
            a.mov(__dword_ptr[rbx], 0x11);   // RAM: no exit
            a.mov(dx, 0x500);
            a.@out(dx, al);
            a.mov(__dword_ptr[rbx], 0x22);   // after unmapping: MMIO exit
            a.hlt();
        });
        using var vp = guest.StartProcessor(0);
        var io = new IoStepper(vp);
        Assert.Equal(AddressSpace.Port, io.Next().Space);
        Assert.Equal(0x11u, extra.Read<uint>(0));
        Assert.Throws<HypervisorException>(() => guest.Partition.MapMemory(new MemorySlot(2, address, extra, 0, 0x1000))); // overlap
        guest.Partition.UnmapMemory(1);
        var e = io.Next();
        Assert.Equal((AddressSpace.Mmio, address, 0x22UL), (e.Space, e.Address, e.Value));
        Assert.Equal(0x11u, extra.Read<uint>(0));
    }

    [Fact]
    public void KernelInstructionTheHostCannotRun_IsInternalErrorWithDetail_OrRunsNatively()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv);
        // MOVQ xmm, r64 at CPL0: hardware runs it; KVM's instruction emulator (paravirtual hosts) does not have it.
        guest.Load(TestGuest.CodeAddress, a => { a.mov(rax, 0x42); a.movq(xmm0, rax); a.mov(dx, 0x500); a.@out(dx, al); a.hlt(); });
        using var vp = guest.StartProcessor(0);
        var io = new IoStepper(vp);
        var e = vp.Run(io); // the stepper stops the processor at the OUT
        output.WriteLine(e.ToString());
        if (e.Kind == ExitKind.InternalError)
            Assert.Contains("emulation failed", e.Detail);
        else
            Assert.Equal((ExitKind.Cancelled, new IoAccess(AddressSpace.Port, 0x500, 1, true, 0x42)), (e.Kind, Assert.Single(io.All)));
    }
}
