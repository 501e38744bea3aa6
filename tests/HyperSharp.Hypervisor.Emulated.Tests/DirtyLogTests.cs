using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>The dirty-page log that migration and checkpoints read from the emulator.</summary>
public class DirtyLogTests
{
    private static bool IsSet(ulong[] bitmap, ulong pa) => (bitmap[(pa >> 12) / 64] & (1UL << (int)((pa >> 12) % 64))) != 0;

    [Fact]
    public void Written_pages_are_logged_once_per_round()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            a.mov(rdi, TestMachine.Data); a.mov(__qword_ptr[rdi], 1);                 // data page
            a.mov(rdi, TestMachine.Data + 0x5008); a.mov(__dword_ptr[rdi], 2);        // another page
            a.mov(rdi, TestMachine.Data + 0x9000); a.mov(rax, __qword_ptr[rdi]);      // read only
            a.hlt();
        });
        var bitmap = new ulong[(64 << 20) / 4096 / 64];
        m.Run(); // warm up: TLB entries for the pages exist before logging starts
        m.Memory.EnableDirtyLogging();
        var s = m.Cpu.GetState(); s.Rip = TestMachine.CodeBase; s.Halted = false; m.Cpu.SetState(s);
        m.RunClean();
        int n = m.Memory.CollectDirtyPages(bitmap);
        Assert.True(IsSet(bitmap, TestMachine.Data));
        Assert.True(IsSet(bitmap, TestMachine.Data + 0x5000));
        Assert.False(IsSet(bitmap, TestMachine.Data + 0x9000));
        Assert.False(IsSet(bitmap, TestMachine.CodeBase));
        Assert.True(n >= 2 && n <= 4, $"{n} pages");                             // plus page-table A/D pages
        Assert.Equal(0, m.Memory.CollectDirtyPages(bitmap));                    // nothing written since

        // Second round: only the page written again.
        m.Load(a => { a.mov(rdi, TestMachine.Data + 0x5010); a.mov(__dword_ptr[rdi], 3); a.hlt(); }, 0x140000);
        m.Memory.CollectDirtyPages(bitmap); // drop the loader's own write of the code above
        s = m.Cpu.GetState(); s.Rip = 0x140000; s.Halted = false; m.Cpu.SetState(s);
        m.RunClean();
        Assert.Equal(1, m.Memory.CollectDirtyPages(bitmap));
        Assert.True(IsSet(bitmap, TestMachine.Data + 0x5000));
    }

    [Fact]
    public void Self_modifying_code_still_works_with_logging_on()
    {
        using var m = new TestMachine();
        m.Memory.EnableDirtyLogging();
        m.Load(a => { a.mov(rbx, TestMachine.CodeBase + 14); a.mov(__byte_ptr[rbx], 42); a.mov(eax, 0); a.hlt(); });
        m.RunClean();
        Assert.Equal(42UL, m.Cpu[Execution.Gpr.Rax]);
        var bitmap = new ulong[(64 << 20) / 4096 / 64];
        m.Memory.CollectDirtyPages(bitmap);
        Assert.True(IsSet(bitmap, TestMachine.CodeBase));
    }

    [Fact]
    public void Tracking_started_on_a_partition_logs_device_writes_per_slot_counted_from_its_start()
    {
        // Two slots with the PC's hole between them: the second slot's bitmap counts its own pages, not guest-physical ones.
        using var memory = GuestMemory.Allocate(4 << 20);
        using var partition = new Backend.EmulatedHypervisor().CreatePartition(new PartitionOptions { ProcessorCount = 1 });
        partition.MapMemory(new MemorySlot(0, 0, memory, 0, 1 << 20));
        partition.MapMemory(new MemorySlot(1, 2 << 20, memory, 2 << 20, 2 << 20));
        using var vp = partition.CreateProcessor(0);
        Assert.Throws<HypervisorException>(() => partition.GetAndClearDirtyPages(1)); // not tracking yet

        var tracking = (IDirtyPageTracking)partition;
        partition.NotifyDeviceWrite(0x5000, 8); // before the start: not in the log
        tracking.StartDirtyPageTracking();
        partition.NotifyDeviceWrite(0x3000, 1);
        partition.NotifyDeviceWrite((2 << 20) + 5 * 4096 + 4000, 200); // straddles pages 5 and 6 of slot 1
        ulong[] high = partition.GetAndClearDirtyPages(1);              // collects both slots; slot 0's waits for its own call
        Assert.Equal(new ulong[] { 0b110_0000, 0, 0, 0, 0, 0, 0, 0 }, high);
        ulong[] low = partition.GetAndClearDirtyPages(0);
        Assert.Equal(1UL << 3, low[0]);
        Assert.All(low.Skip(1), w => Assert.Equal(0UL, w));
        Assert.All(partition.GetAndClearDirtyPages(1), w => Assert.Equal(0UL, w)); // cleared by the read

        tracking.StopDirtyPageTracking();
        Assert.Throws<HypervisorException>(() => partition.GetAndClearDirtyPages(0));
    }
}
