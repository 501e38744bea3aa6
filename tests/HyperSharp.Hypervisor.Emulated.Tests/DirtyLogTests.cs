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
}
