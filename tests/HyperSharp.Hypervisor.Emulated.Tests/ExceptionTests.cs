using HyperSharp.Hypervisor.Emulated.Execution;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>Exceptions delivered through the 64-bit IDT: vector, error code, frame, CR2, precise state.</summary>
public class ExceptionTests
{
    [Fact]
    public void Divide_by_zero_is_DE_with_RIP_at_the_div_and_no_register_change()
    {
        using var m = new TestMachine();
        m.Load(a => { a.div(rcx); a.hlt(); });
        m.Cpu[Gpr.Rax] = 1234; m.Cpu[Gpr.Rcx] = 0; m.Cpu[Gpr.Rdx] = 5;
        m.Run();
        Assert.Equal((ulong)Vec.DE, m.Vector);
        Assert.Equal(TestMachine.CodeBase, m.Frame(0));          // RIP
        Assert.Equal((ulong)TestMachine.KCode, m.Frame(1));      // CS
        Assert.Equal(TestMachine.StackTop, m.Frame(3));          // old RSP
        Assert.Equal(1234UL, m.Cpu[Gpr.Rax]);
        Assert.Equal(5UL, m.Cpu[Gpr.Rdx]);
    }

    [Fact]
    public void Idiv_quotient_overflow_is_DE()
    {
        using var m = new TestMachine();
        m.Load(a => { a.mov(rax, long.MinValue); a.cqo(); a.mov(rcx, -1L); a.idiv(rcx); a.hlt(); });
        m.Run();
        Assert.Equal((ulong)Vec.DE, m.Vector);
    }

    [Fact]
    public void Ud2_is_UD()
    {
        using var m = new TestMachine();
        m.Load(a => { a.nop(); a.ud2(); a.hlt(); });
        m.Run();
        Assert.Equal((ulong)Vec.UD, m.Vector);
        Assert.Equal(TestMachine.CodeBase + 1, m.Frame(0));
    }

    [Fact]
    public void Non_canonical_access_is_GP_0()
    {
        using var m = new TestMachine();
        m.Load(a => { a.mov(rbx, 0x0000800000000000UL); a.mov(rax, __qword_ptr[rbx]); a.hlt(); });
        m.Run();
        Assert.Equal((ulong)Vec.GP, m.Vector);
        Assert.Equal(0UL, m.Frame(0));      // error code
    }

    [Fact]
    public void Not_present_read_is_PF_with_error_0_and_CR2()
    {
        using var m = new TestMachine();
        m.W64(TestMachine.Pd + 5 * 8, 0);    // 10-12 MiB not present
        m.Load(a => { a.mov(rbx, 0xA00010UL); a.mov(eax, 7); a.add(rax, __qword_ptr[rbx]); a.hlt(); });
        m.Run();
        Assert.Equal((ulong)Vec.PF, m.Vector);
        Assert.Equal(0UL, m.Frame(0));
        Assert.Equal(0xA00010UL, m.Cpu.Cr2);
        Assert.Equal(TestMachine.CodeBase + 15, m.Frame(1)); // after mov rbx,imm64 (10) + mov eax,7 (5)
        Assert.Equal(7UL, m.Cpu[Gpr.Rax]);                   // precise: the add did not happen
        Assert.Equal(0x10000UL, m.Frame(3) & 0x10000);       // faults push RF = 1
    }

    [Fact]
    public void Write_to_read_only_page_is_PF_present_write_under_WP()
    {
        using var m = new TestMachine();
        m.W64(TestMachine.Pd + 6 * 8, (6UL << 21) | 0x85);   // P US PS, not writable
        m.Load(a => { a.mov(rbx, 0xC00000UL); a.mov(__qword_ptr[rbx], rax); a.hlt(); });
        m.Run();
        Assert.Equal((ulong)Vec.PF, m.Vector);
        Assert.Equal(3UL, m.Frame(0));       // P | W
        Assert.Equal(0xC00000UL, m.Cpu.Cr2);
    }

    [Fact]
    public void Without_WP_the_kernel_may_write_read_only_pages()
    {
        using var m = new TestMachine();
        m.W64(TestMachine.Pd + 6 * 8, (6UL << 21) | 0x85);
        m.Load(a =>
        {
            a.mov(rax, cr0); a.and(eax, ~0x10000); a.mov(cr0, rax);
            a.mov(rbx, 0xC00000UL); a.mov(__qword_ptr[rbx], 99); a.hlt();
        });
        m.RunClean();
        Assert.Equal(99UL, m.R64(0xC00000));
    }

    [Fact]
    public void Fetch_from_NX_page_is_PF_with_instruction_fetch_bit()
    {
        using var m = new TestMachine();
        m.W64(TestMachine.Pd + 7 * 8, (7UL << 21) | 0x87 | (1UL << 63));
        m.Load(a => { a.mov(rbx, 0xE00000UL); a.jmp(rbx); });
        m.Run();
        Assert.Equal((ulong)Vec.PF, m.Vector);
        Assert.Equal(0x11UL, m.Frame(0));    // P | I/D
        Assert.Equal(0xE00000UL, m.Cpu.Cr2);
        Assert.Equal(0xE00000UL, m.Frame(1)); // the faulting RIP is the target
    }

    [Fact]
    public void Reserved_bit_in_entry_is_PF_with_RSVD()
    {
        using var m = new TestMachine();
        m.W64(TestMachine.Pd + 5 * 8, (5UL << 21) | 0x87 | (1UL << 50)); // above MAXPHYADDR 46
        m.Load(a => { a.mov(rbx, 0xA00000UL); a.mov(rax, __qword_ptr[rbx]); a.hlt(); });
        m.Run();
        Assert.Equal((ulong)Vec.PF, m.Vector);
        Assert.Equal(9UL, m.Frame(0));       // P | RSVD
    }

    [Fact]
    public void IST_gate_switches_to_the_IST_stack()
    {
        using var m = new TestMachine();
        ulong gate = TestMachine.Idt + (ulong)Vec.UD * 16;
        m.W64(gate, m.R64(gate) | (1UL << 32));                  // IST1
        m.Load(a => { a.ud2(); });
        m.Run();
        Assert.Equal((ulong)Vec.UD, m.Vector);
        Assert.Equal(TestMachine.IstTop - 40, m.Cpu[Gpr.Rsp]);
        Assert.Equal(TestMachine.StackTop, m.Frame(3));
    }

    [Fact]
    public void Fault_while_delivering_a_page_fault_is_double_fault()
    {
        using var m = new TestMachine();
        ulong gate = TestMachine.Idt + (ulong)Vec.PF * 16;
        m.W64(gate, m.R64(gate) & ~(1UL << 47));                 // #PF gate not present -> #NP
        m.W64(TestMachine.Pd + 5 * 8, 0);
        m.Load(a => { a.mov(rbx, 0xA00000UL); a.mov(rax, __qword_ptr[rbx]); a.hlt(); });
        m.Run();
        Assert.Equal((ulong)Vec.DF, m.Vector);
        Assert.Equal(0UL, m.Frame(0));
    }

    [Fact]
    public void Triple_fault_shuts_down()
    {
        using var m = new TestMachine();
        m.Load(a => { a.mov(rax, 0UL); a.lidt(__qword_ptr[rax]); a.ud2(); }); // IDT limit 0 at 0
        m.W64(0, 0);
        Assert.Equal(CpuExitReason.Shutdown, m.Run());
    }

    [Fact]
    public void Int3_pushes_the_next_RIP()
    {
        using var m = new TestMachine();
        m.Load(a => { a.int3(); a.hlt(); });
        m.Run();
        Assert.Equal((ulong)Vec.BP, m.Vector);
        Assert.Equal(TestMachine.CodeBase + 1, m.Frame(0));
        Assert.Equal(0UL, m.Frame(2) & 0x10000);             // traps do not
    }

    [Fact]
    public void Iretq_returns_from_a_handler()
    {
        using var m = new TestMachine();
        // A #BP handler that sets rbx and returns.
        m.Load(a => { a.mov(ebx, 55); a.iretq(); }, 0x50000);
        ulong gate = TestMachine.Idt + (ulong)Vec.BP * 16;
        ulong h = 0x50000;
        m.W64(gate, (h & 0xFFFF) | ((ulong)TestMachine.KCode << 16) | (0x8FUL << 40) | ((h >> 16 & 0xFFFF) << 48));
        m.Load(a => { a.int3(); a.mov(ecx, 66); a.hlt(); });
        m.RunClean();
        Assert.Equal(55UL, m.Cpu[Gpr.Rbx]);
        Assert.Equal(66UL, m.Cpu[Gpr.Rcx]);
        Assert.Equal(TestMachine.StackTop, m.Cpu[Gpr.Rsp]);
    }
}

/// <summary>Branches to non-canonical addresses fault on the branch itself.</summary>
public class NonCanonicalBranchTests
{
    [Fact]
    public void Ret_to_a_non_canonical_address_is_GP_at_the_ret_with_RSP_unchanged()
    {
        using var m = new TestMachine();
        m.Load(a => { a.mov(rax, 0x0000800000000000UL); a.push(rax); a.ret(); });
        m.Run();
        Assert.Equal((ulong)Vec.GP, m.Vector);
        Assert.Equal(TestMachine.CodeBase + 11, m.Frame(1));          // RIP of the RET (after mov imm64 + push)
        Assert.Equal(TestMachine.StackTop - 8, m.Frame(4));           // RSP still holds the pushed target
    }

    [Fact]
    public void Indirect_jump_to_a_non_canonical_address_is_GP_at_the_jump()
    {
        using var m = new TestMachine();
        m.Load(a => { a.mov(rax, 0xFFFF7FFFFFFFFFF0UL); a.jmp(rax); });
        m.Run();
        Assert.Equal((ulong)Vec.GP, m.Vector);
        Assert.Equal(TestMachine.CodeBase + 10, m.Frame(1));
    }
}

/// <summary>Guest inputs that would make a naive .NET implementation throw must become guest exceptions.</summary>
public class HostSafetyTests
{
    [Fact]
    public void Idiv_of_the_most_negative_128bit_dividend_by_minus_one_is_DE()
    {
        using var m = new TestMachine();
        m.Load(a => { a.mov(rdx, 0x8000000000000000UL); a.xor(eax, eax); a.mov(rcx, -1L); a.idiv(rcx); a.hlt(); });
        m.Run();
        Assert.Equal((ulong)Vec.DE, m.Vector);
    }

    [Fact]
    public void Mov_from_a_nonexistent_debug_register_is_UD()
    {
        using var m = new TestMachine();
        m.Memory.Write(TestMachine.CodeBase, [0x44, 0x0F, 0x21, 0xC0, 0xF4]); // mov rax, dr8
        m.Run();
        Assert.Equal((ulong)Vec.UD, m.Vector);
    }
}
