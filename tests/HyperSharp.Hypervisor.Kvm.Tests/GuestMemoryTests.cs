namespace HyperSharp.Hypervisor.Kvm.Tests;

/// <summary>GuestMemory: sparse reservation and bounds checks that keep guest-supplied addresses inside guest RAM.</summary>
public sealed class GuestMemoryTests
{
    [Fact]
    public void Accessors_RefuseAnythingOutsideGuestRam()
    {
        using var memory = GuestMemory.Allocate(0x10000);
        memory.Write<uint>(0xFFFC, 0xAABBCCDD);
        Assert.Equal(0xAABBCCDDu, memory.Read<uint>(0xFFFC));
        Assert.Equal(4, memory.GetSpan(0xFFFC, 4).Length);

        Assert.Throws<GuestMemoryAccessException>(() => memory.Read<uint>(0xFFFD));          // straddles the end
        Assert.Throws<GuestMemoryAccessException>(() => memory.Read<byte>(0x10000));         // just past it
        Assert.Throws<GuestMemoryAccessException>(() => memory.GetSpan(ulong.MaxValue - 1, 4)); // wraps around
        Assert.Throws<GuestMemoryAccessException>(() => memory.GetSpan(0, -1));
        Assert.Throws<GuestMemoryAccessException>(() => memory.Write(0xFFFF, new byte[2]));
        var ex = Assert.Throws<GuestMemoryAccessException>(() => memory.Read(0x20000, new byte[16]));
        Assert.Equal(0x20000UL, ex.Offset);
        Assert.Contains("outside guest RAM", ex.Message);
    }

    [Fact]
    public void Allocate_HugeSize_ReservesWithoutCommitting()
    {
        long rssBefore = Environment.WorkingSet;
        using var memory = GuestMemory.Allocate(1UL << 40); // 1 TiB of address space
        memory.Write<ulong>((1UL << 40) - 8, 42);            // touching one page costs one page
        Assert.Equal(42UL, memory.Read<ulong>((1UL << 40) - 8));
        Assert.True(Environment.WorkingSet - rssBefore < 64 << 20, "reserving 1 TiB committed memory");
    }

    [Fact]
    public void Discard_ZeroesWholePagesAndFreesThem_RefusesPartialOrOutsideRanges()
    {
        using var memory = GuestMemory.Allocate(64 << 20);
        memory.GetSpan(0, 64 << 20).Fill(0x77);
        long touched = Environment.WorkingSet;
        memory.Discard(4096, (64 << 20) - 8192);
        Assert.True(touched - Environment.WorkingSet > 48 << 20, "the discarded pages stayed resident");
        Assert.Equal(0x77, memory.Read<byte>(4095));
        Assert.Equal(0, memory.Read<byte>(4096));
        Assert.Equal(0, memory.Read<byte>((64 << 20) - 4097));
        Assert.Equal(0x77, memory.Read<byte>((64 << 20) - 4096));
        Assert.Throws<GuestMemoryAccessException>(() => memory.Discard(100, 4096));       // not a whole page
        Assert.Throws<GuestMemoryAccessException>(() => memory.Discard(0, 4000));
        Assert.Throws<GuestMemoryAccessException>(() => memory.Discard(64 << 20, 4096));  // past the end
    }

    [Fact]
    public void Allocate_BadSize_AndUseAfterDispose_AreRefused()
    {
        Assert.Throws<HypervisorException>(() => GuestMemory.Allocate(0));
        Assert.Throws<HypervisorException>(() => GuestMemory.Allocate(4097));
        var memory = GuestMemory.Allocate(4096);
        memory.Dispose();
        Assert.Throws<ObjectDisposedException>(() => memory.Read<byte>(0));
    }

    [Fact]
    public void MemorySlot_Validate_RefusesMisalignedAndOutOfRange()
    {
        using var memory = GuestMemory.Allocate(0x4000);
        new MemorySlot(0, 0x1000, memory, 0, 0x4000).Validate();
        Assert.Throws<HypervisorException>(() => new MemorySlot(0, 0x1001, memory, 0, 0x1000).Validate());
        Assert.Throws<HypervisorException>(() => new MemorySlot(0, 0, memory, 0x1000, 0x4000).Validate());
        Assert.Throws<HypervisorException>(() => new MemorySlot(0, ulong.MaxValue & ~0xFFFUL, memory, 0, 0x2000).Validate());
    }

    [Theory]
    [InlineData(true)]  // eventfd (Linux)
    [InlineData(false)] // managed counter (other hosts)
    public void GuestEvent_SignalWaitConsume(bool eventFd)
    {
        using var ev = new GuestEvent(eventFd);
        Assert.Equal(eventFd, ev.Handle is not null);
        Assert.False(ev.Wait(TimeSpan.FromMilliseconds(10)));
        Assert.Equal(0UL, ev.Consume());
        var t = new Thread(() => { ev.Signal(); ev.Signal(); });
        t.Start();
        t.Join();
        Assert.True(ev.Wait(TimeSpan.FromSeconds(1)));
        Assert.Equal(2UL, ev.Consume());
        Assert.Equal(0UL, ev.Consume());
    }
}
