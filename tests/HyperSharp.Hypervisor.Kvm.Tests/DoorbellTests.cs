using HyperSharp.Hypervisor.Testing;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Kvm.Tests;

/// <summary>ioeventfd doorbells: guest writes signal a GuestEvent without an exit.</summary>
public sealed class DoorbellTests(ITestOutputHelper output)
{
    [Fact]
    public void Doorbells_PortAndMmio_SignalEventWithoutExit_DataMatchFilters()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv);
        const ulong mmioDoorbell = 0x1000_1000;
        using var portEvent = new GuestEvent();
        using var mmioEvent = new GuestEvent();
        using var portBell = guest.Partition.RegisterDoorbell(new Doorbell(AddressSpace.Port, 0x600, 2), portEvent);
        using var mmioBell = guest.Partition.RegisterDoorbell(new Doorbell(AddressSpace.Mmio, mmioDoorbell, 4, DataMatch: 7), mmioEvent);
        guest.Load(TestGuest.CodeAddress, a =>
        {
            a.mov(dx, 0x600);
            a.mov(ax, 1);
            a.@out(dx, ax);                    // rings the port doorbell
            a.@out(dx, ax);                    // twice
            a.mov(rbx, mmioDoorbell);
            a.mov(__dword_ptr[rbx], 7);        // rings the MMIO doorbell (value matches)
            a.mov(__dword_ptr[rbx], 8);        // value does not match: an ordinary MMIO exit
            a.mov(dx, 0x500);
            a.@out(dx, al);
            a.hlt();
        });
        using var vp = guest.StartProcessor(0);

        var e = new IoStepper(vp).Next();
        Assert.Equal((AddressSpace.Mmio, mmioDoorbell, 8UL), (e.Space, e.Address, e.Value));
        Assert.True(portEvent.Wait(TimeSpan.FromSeconds(1)));
        Assert.Equal(2UL, portEvent.Consume());
        Assert.Equal(1UL, mmioEvent.Consume());

        e = new IoStepper(vp).Next();
        Assert.Equal((AddressSpace.Port, 0x500UL), (e.Space, e.Address));
        Assert.Equal(0UL, portEvent.Consume());
    }

    [Fact]
    public void Doorbell_AfterDispose_WritesExitAgain()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv);
        using var ev = new GuestEvent();
        guest.Partition.RegisterDoorbell(new Doorbell(AddressSpace.Port, 0x600, 1), ev).Dispose();
        guest.Load(TestGuest.CodeAddress, a => { a.mov(dx, 0x600); a.@out(dx, al); a.hlt(); });
        using var vp = guest.StartProcessor(0);
        var e = new IoStepper(vp).Next();
        Assert.Equal((AddressSpace.Port, 0x600UL), (e.Space, e.Address));
        Assert.Equal(0UL, ev.Consume());
    }

    [Fact]
    public void Doorbell_BadLength_IsRefused()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv);
        using var ev = new GuestEvent();
        var ex = Assert.Throws<HypervisorException>(() => guest.Partition.RegisterDoorbell(new Doorbell(AddressSpace.Port, 0x600, 3), ev));
        Assert.Contains("length 3", ex.Message);
    }
}
