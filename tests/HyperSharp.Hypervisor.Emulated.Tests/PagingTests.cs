using HyperSharp.Hypervisor.Emulated.Execution;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>4-level paging: page sizes, accessed/dirty bits, INVLPG and CR3 reloads.</summary>
public class PagingTests
{
    private const ulong A = 0x20, D = 0x40;

    [Fact]
    public void Read_sets_A_only_and_write_sets_A_and_D()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            a.mov(rbx, 0x400000UL); a.mov(rax, __qword_ptr[rbx]);        // PDE 2: read
            a.mov(rbx, 0x600000UL); a.mov(__qword_ptr[rbx], rax);        // PDE 3: write
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(A, m.R64(TestMachine.Pd + 2 * 8) & (A | D));
        Assert.Equal(A | D, m.R64(TestMachine.Pd + 3 * 8) & (A | D));
        Assert.Equal(0UL, m.R64(TestMachine.Pd + 9 * 8) & (A | D));       // untouched
        Assert.Equal(A, m.R64(TestMachine.Pml4) & A);
        Assert.Equal(A, m.R64(TestMachine.Pdpt) & A);
    }

    [Fact]
    public void Four_KiB_pages_map_through_a_page_table()
    {
        using var m = new TestMachine();
        const ulong pt = 0x4000;
        m.W64(TestMachine.Pd + 4 * 8, pt | 7);                          // 8 MiB region through a PT
        m.W64(pt + 3 * 8, 0x300000 | 7);                                  // 0x803000 -> 0x300000
        m.W64(0x300008, 0x1122334455667788);
        m.Load(a =>
        {
            a.mov(rbx, 0x803008UL); a.mov(rax, __qword_ptr[rbx]);
            a.mov(__qword_ptr[rbx + 8], rax);
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(0x1122334455667788UL, m.Cpu[Execution.Gpr.Rax]);
        Assert.Equal(0x1122334455667788UL, m.R64(0x300010));
        Assert.Equal(A | D, m.R64(pt + 3 * 8) & (A | D));
        Assert.Equal(A, m.R64(TestMachine.Pd + 4 * 8) & (A | D));     // D is set only in the leaf
    }

    [Fact]
    public void One_GiB_page()
    {
        using var m = new TestMachine();
        m.W64(TestMachine.Pdpt + 8, 0x87);                                 // 1..2 GiB -> 0..1 GiB
        m.W64(0x200040, 0xCAFE);
        m.Load(a => { a.mov(rbx, 0x40200040UL); a.mov(rax, __qword_ptr[rbx]); a.hlt(); });
        m.RunClean();
        Assert.Equal(0xCAFEUL, m.Cpu[Execution.Gpr.Rax]);
    }

    [Fact]
    public void Invlpg_makes_a_changed_mapping_visible()
    {
        using var m = new TestMachine();
        const ulong pt = 0x4000;
        m.W64(TestMachine.Pd + 4 * 8, pt | 7);
        m.W64(pt, 0x300000 | 7);
        m.W64(0x300000, 1);
        m.W64(0x301000, 2);
        m.Load(a =>
        {
            a.mov(rbx, 0x800000UL); a.mov(r8, __qword_ptr[rbx]);        // caches 0x800000 -> 0x300000
            a.mov(rcx, pt); a.mov(__qword_ptr[rcx], 0x301007);            // remap to 0x301000
            a.invlpg(__byte_ptr[rbx]);
            a.mov(r9, __qword_ptr[rbx]);
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(1UL, m.Cpu[Execution.Gpr.R8]);
        Assert.Equal(2UL, m.Cpu[Execution.Gpr.R9]);
    }

    [Fact]
    public void Supervisor_page_is_protected_from_user_mode()
    {
        using var m = new TestMachine();
        m.W64(TestMachine.Pd + 5 * 8, (5UL << 21) | 0x83);               // supervisor-only 10 MiB
        // Drop to CPL3 with SYSRET, then read the supervisor page.
        m.Load(a => { a.mov(rcx, 0x300000UL); a.mov(r11, 2UL); a.sysretq(); });
        m.Load(a => { a.mov(rbx, 0xA00000UL); a.mov(rax, __qword_ptr[rbx]); a.hlt(); }, 0x300000);
        m.Run();
        Assert.Equal(14UL, m.Vector);
        Assert.Equal(5UL, m.Frame(0));      // P | U
        Assert.Equal(0x23UL, m.Frame(2));   // interrupted CS is user code
    }
}

/// <summary>CR3 reloads flush by TLB generation; the 10-bit generation wraps after 1023 flushes.</summary>
public class TlbGenerationTests
{
    [Fact]
    public void Every_cr3_reload_sees_the_new_mapping_across_the_generation_wrap()
    {
        using var m = new TestMachine();
        const ulong pt = 0x4000;
        m.W64(TestMachine.Pd + 4 * 8, pt | 7);
        m.W64(0x300000, 1);
        m.W64(0x301000, 2);
        m.Load(a =>
        {
            var loop = a.CreateLabel();
            a.xor(ebx, ebx); a.mov(ecx, 1500); a.mov(rsi, pt); a.mov(rdi, 0x800000UL);
            a.Label(ref loop);
            a.mov(eax, ecx); a.and(eax, 1); a.shl(eax, 12); a.add(eax, 0x300007);   // alternate 0x300000 / 0x301000
            a.mov(__qword_ptr[rsi], rax);
            a.mov(rdx, cr3); a.mov(cr3, rdx);
            a.add(rbx, __qword_ptr[rdi]);
            a.dec(ecx); a.jnz(loop);
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(750UL * 1 + 750UL * 2, m.Cpu[Gpr.Rbx]);
    }
}
