using HyperSharp.Hypervisor.Testing;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Kvm.Tests;

/// <summary>The dirty-page log shows exactly the pages the guest wrote, and clears on read.</summary>
public sealed class DirtyLogTests(ITestOutputHelper output)
{
    [Fact]
    public void DirtyLog_ShowsExactlyWrittenPages_ThenClears()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        // Slot 0: code, tables, stack (untracked: the CPU itself writes accessed/dirty bits there).
        // Slot 1: the upper MiB, tracked; only the guest program writes to it.
        using var guest = new TestGuest(hv, mapRam: false);
        const ulong half = TestGuest.RamSize / 2;
        guest.Partition.MapMemory(new MemorySlot(0, 0, guest.Memory, 0, half));
        guest.Partition.MapMemory(new MemorySlot(1, half, guest.Memory, half, half, MemorySlotFlags.TrackDirtyPages));
        int[] pages = [1, 7, 64, 200, 255];
        guest.Load(TestGuest.CodeAddress, a =>
        {
            foreach (int page in pages)
            {
                a.mov(rbx, half + (ulong)page * 4096 + 0x10);
                a.mov(__qword_ptr[rbx], page);
            }
            a.mov(rbx, half + 3 * 4096);
            a.mov(rax, __qword_ptr[rbx]); // a read does not dirty
            a.mov(dx, 0x500);
            a.@out(dx, al);
            a.hlt();
        });
        using var vp = guest.StartProcessor(0);
        Assert.All(guest.Partition.GetAndClearDirtyPages(1), word => Assert.Equal(0UL, word));

        Assert.Equal(AddressSpace.Port, new IoStepper(vp).Next().Space);
        ulong[] bitmap = guest.Partition.GetAndClearDirtyPages(1);
        Assert.Equal(4, bitmap.Length); // 256 pages
        var dirty = new List<int>();
        for (int i = 0; i < 256; i++)
            if ((bitmap[i / 64] >> (i % 64) & 1) != 0) dirty.Add(i);
        Assert.Equal(pages, dirty);
        Assert.Equal(200UL, guest.Memory.Read<ulong>(half + 200 * 4096 + 0x10));

        Assert.All(guest.Partition.GetAndClearDirtyPages(1), word => Assert.Equal(0UL, word));
        Assert.Throws<HypervisorException>(() => guest.Partition.GetAndClearDirtyPages(0)); // slot 0 is not tracked
    }

    [Fact]
    public void DirtyLog_StartedWhileMapped_LogsGuestAndDeviceWrites_UntilStopped()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv, mapRam: false);
        const ulong half = TestGuest.RamSize / 2;
        guest.Partition.MapMemory(new MemorySlot(0, 0, guest.Memory, 0, half));
        guest.Partition.MapMemory(new MemorySlot(1, half, guest.Memory, half, half)); // no TrackDirtyPages: tracking starts later
        int[] pages = [2, 9, 130];
        guest.Load(TestGuest.CodeAddress, a =>
        {
            foreach (int page in pages)
            {
                a.mov(rbx, half + (ulong)page * 4096);
                a.mov(__qword_ptr[rbx], page);
            }
            a.mov(dx, 0x500);
            a.@out(dx, al);
            a.hlt();
        });
        using var vp = guest.StartProcessor(0);
        Assert.Throws<HypervisorException>(() => guest.Partition.GetAndClearDirtyPages(1));
        var tracking = Assert.IsAssignableFrom<IDirtyPageTracking>(guest.Partition);
        tracking.StartDirtyPageTracking();
        Assert.Equal(AddressSpace.Port, new IoStepper(vp).Next().Space);
        guest.Partition.NotifyDeviceWrite(half + 77 * 4096 + 10, 4); // a device's DMA: KVM never sees it, the partition must
        ulong[] bitmap = guest.Partition.GetAndClearDirtyPages(1);
        var dirty = new List<int>();
        for (int i = 0; i < 256; i++)
            if ((bitmap[i / 64] >> (i % 64) & 1) != 0) dirty.Add(i);
        Assert.Equal([2, 9, 77, 130], dirty);
        Assert.All(guest.Partition.GetAndClearDirtyPages(1), word => Assert.Equal(0UL, word));
        tracking.StopDirtyPageTracking();
        Assert.Throws<HypervisorException>(() => guest.Partition.GetAndClearDirtyPages(1));
    }
}
