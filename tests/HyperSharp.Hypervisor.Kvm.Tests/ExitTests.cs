using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Kvm.Tests;

/// <summary>Port I/O, MMIO and HLT exits from small long-mode guests. Test ports are 0x5xx: 0x61 and 0x40-0x43 belong to the in-kernel PIT.</summary>
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

        var e = vp.Run();
        Assert.Equal(ExitKind.PortIo, e.Kind);
        Assert.Equal(0x510UL, e.Address);
        Assert.False(e.IsWrite);
        Assert.Equal(1, e.Size);
        e.SetValue(0x5A);

        // Reading state between exits sees the IN finished: AL holds the answer and RIP is past the instruction.
        var state = vp.GetState();
        Assert.Equal(0x5AUL, state.GeneralRegisters[0] & 0xFF);
        Assert.Equal(TestGuest.CodeAddress + 5, state.Rip); // mov dx, imm16 (4 bytes) + in al, dx (1)

        e = vp.Run();
        Assert.Equal(ExitKind.PortIo, e.Kind);
        Assert.True(e.IsWrite);
        Assert.Equal(0x511UL, e.Address);
        Assert.Equal(0x5BUL, e.Value);

        e = vp.Run();
        Assert.Equal((0x512UL, false, 4), (e.Address, e.IsWrite, e.Size));
        e.SetValue(0x12345678);

        e = vp.Run();
        Assert.Equal((0x512UL, true, 4), (e.Address, e.IsWrite, e.Size));
        Assert.Equal(~0x12345678u, (uint)e.Value);
    }

    [Fact]
    public void Mmio_ReadAndWrite_ExitWithAddressSizeAndData()
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

        var e = vp.Run();
        Assert.Equal(ExitKind.Mmio, e.Kind);
        Assert.True(e.IsWrite);
        Assert.Equal(device, e.Address);
        Assert.Equal(4, e.Size);
        Assert.Equal(0xDEADBEEFUL, e.Value);

        e = vp.Run();
        Assert.Equal(ExitKind.Mmio, e.Kind);
        Assert.False(e.IsWrite);
        Assert.Equal(device + 8, e.Address);
        Assert.Equal(8, e.Size);
        e.SetValue(0x0123_4567_89AB_CDEF);

        e = vp.Run();
        Assert.Equal(0x89AB_CDEFUL, e.Value);
        e = vp.Run();
        Assert.Equal(0x0123_4567UL, e.Value);
    }

    [Fact]
    public void ReadOnlySlot_ReadsMemory_WritesExitAsMmio()
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

        var e = vp.Run();
        Assert.Equal((ExitKind.PortIo, 0xC0FFEEUL), (e.Kind, e.Value));
        e = vp.Run();
        Assert.Equal((ExitKind.Mmio, true, romAddress, 0x1234UL), (e.Kind, e.IsWrite, e.Address, e.Value));
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
        Assert.Equal(ExitKind.Halt, vp.Run().Kind);
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
        var e = vp.Run();
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
        Assert.Equal(ExitKind.PortIo, vp.Run().Kind);
        Assert.Equal(0x11u, extra.Read<uint>(0));
        Assert.Throws<HypervisorException>(() => guest.Partition.MapMemory(new MemorySlot(2, address, extra, 0, 0x1000))); // overlap
        guest.Partition.UnmapMemory(1);
        var e = vp.Run();
        Assert.Equal((ExitKind.Mmio, address, 0x22UL), (e.Kind, e.Address, e.Value));
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
        var e = vp.Run();
        output.WriteLine(e.ToString());
        if (e.Kind == ExitKind.InternalError)
            Assert.Contains("emulation failed", e.Detail);
        else
            Assert.Equal((ExitKind.PortIo, 0x500UL, 0x42UL), (e.Kind, e.Address, e.Value));
    }
}
