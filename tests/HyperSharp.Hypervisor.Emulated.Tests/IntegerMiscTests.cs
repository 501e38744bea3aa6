using HyperSharp.Hypervisor.Emulated.Execution;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>String instructions with REP prefixes, moves, exchanges, CMOV, LOOP, 8-bit high registers.</summary>
public class IntegerMiscTests
{
    [Fact]
    public void Rep_movsb_stosq_and_repne_scasb()
    {
        using var m = new TestMachine();
        m.Memory.Write(TestMachine.Data, "abcdefghij"u8);
        m.Load(a =>
        {
            a.cld();
            a.mov(rsi, TestMachine.Data); a.mov(rdi, TestMachine.Data + 0x100); a.mov(ecx, 10); a.rep.movsb();
            a.mov(r8, rcx); a.mov(r9, rdi);
            a.mov(rdi, TestMachine.Data + 0x200); a.mov(rax, 0x0101010101010101UL); a.mov(ecx, 4); a.rep.stosq();
            a.mov(rdi, TestMachine.Data); a.mov(al, (byte)'e'); a.mov(ecx, 10); a.repne.scasb();
            a.mov(r10, rcx); a.mov(r11, rdi);
            a.hlt();
        });
        m.RunClean();
        Assert.Equal("abcdefghij"u8.ToArray(), m.Memory.Span(TestMachine.Data + 0x100, 10).ToArray());
        Assert.Equal(0UL, m.Cpu[Gpr.R8]);
        Assert.Equal(TestMachine.Data + 0x10A, m.Cpu[Gpr.R9]);
        Assert.Equal(0x0101010101010101UL, m.R64(TestMachine.Data + 0x218));
        Assert.Equal(0UL, m.R64(TestMachine.Data + 0x220));
        Assert.Equal(5UL, m.Cpu[Gpr.R10]);                         // 10 - 5 compared
        Assert.Equal(TestMachine.Data + 5, m.Cpu[Gpr.R11]);        // one past the match
    }

    [Fact]
    public void Repe_cmpsb_stops_at_first_difference_and_std_walks_down()
    {
        using var m = new TestMachine();
        m.Memory.Write(TestMachine.Data, "same-X"u8);
        m.Memory.Write(TestMachine.Data + 0x40, "same-Y"u8);
        m.Load(a =>
        {
            a.mov(rsi, TestMachine.Data); a.mov(rdi, TestMachine.Data + 0x40); a.mov(ecx, 6); a.repe.cmpsb();
            a.setb(bl); a.mov(r8, rcx);
            a.std(); a.mov(rsi, TestMachine.Data + 5); a.lodsb(); a.mov(r9, rsi); a.cld();
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(1UL, m.Cpu[Gpr.Rbx] & 0xFF);   // 'X' < 'Y'
        Assert.Equal(0UL, m.Cpu[Gpr.R8]);
        Assert.Equal((ulong)'X', m.Cpu[Gpr.Rax] & 0xFF);
        Assert.Equal(TestMachine.Data + 4, m.Cpu[Gpr.R9]);
    }

    [Fact]
    public void Cmov_32bit_zero_extends_even_when_false_and_high_byte_registers()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            a.mov(rax, -1L); a.mov(ecx, 5); a.cmp(ecx, ecx); a.cmovne(eax, ecx);
            a.mov(rbx, 0x1122334455667788UL); a.mov(ah, bh); a.xchg(bl, bh);
            a.mov(rdx, 0x1122334455667788UL); a.bswap(rdx);
            a.movsx(esi, bh); a.mov(r8, rsi); a.movzx(r9d, bx); a.movsxd(r10, ecx);
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(0x00000000FFFFFFFFUL & ~0xFF00UL | 0x7700UL, m.Cpu[Gpr.Rax]);
        Assert.Equal(0x1122334455668877UL, m.Cpu[Gpr.Rbx]);
        Assert.Equal(0x8877665544332211UL, m.Cpu[Gpr.Rdx]);
        Assert.Equal(0xFFFFFF88UL, m.Cpu[Gpr.R8]);
        Assert.Equal(0x8877UL, m.Cpu[Gpr.R9]);
        Assert.Equal(5UL, m.Cpu[Gpr.R10]);
    }

    [Fact]
    public void Loop_call_ret_and_push_pop()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            var fn = a.CreateLabel(); var top = a.CreateLabel(); var done = a.CreateLabel();
            a.xor(ebx, ebx); a.mov(ecx, 10);
            a.Label(ref top); a.call(fn); a.loop(top);
            a.jmp(done);
            a.Label(ref fn); a.push(rcx); a.add(rbx, __qword_ptr[rsp]); a.pop(rcx); a.ret();
            a.Label(ref done); a.push(0x7F); a.pop(rdx);
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(55UL, m.Cpu[Gpr.Rbx]);
        Assert.Equal(0x7FUL, m.Cpu[Gpr.Rdx]);
        Assert.Equal(TestMachine.StackTop, m.Cpu[Gpr.Rsp]);
    }

    [Fact]
    public void Cmpxchg16b_compares_and_swaps_128_bits()
    {
        using var m = new TestMachine();
        m.W64(TestMachine.Data, 1); m.W64(TestMachine.Data + 8, 2);
        m.Load(a =>
        {
            a.mov(rdi, TestMachine.Data);
            a.mov(eax, 1); a.mov(edx, 2); a.mov(ebx, 3); a.mov(ecx, 4);
            a.@lock.cmpxchg16b(__xmmword_ptr[rdi]); a.setz(r8b);
            a.@lock.cmpxchg16b(__xmmword_ptr[rdi]); a.setz(r9b);   // now fails, loads 3:4
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(1UL, m.Cpu[Gpr.R8] & 0xFF);
        Assert.Equal(0UL, m.Cpu[Gpr.R9] & 0xFF);
        Assert.Equal(3UL, m.R64(TestMachine.Data));
        Assert.Equal(4UL, m.R64(TestMachine.Data + 8));
        Assert.Equal(3UL, m.Cpu[Gpr.Rax]);
        Assert.Equal(4UL, m.Cpu[Gpr.Rdx]);
    }

    [Fact]
    public void State_round_trips_through_GetState_SetState()
    {
        using var m = new TestMachine();
        m.Load(a => { a.mov(eax, 1); a.add(eax, -1); a.mov(rbx, 0x1234UL); a.movq(xmm3, rbx); a.hlt(); });
        m.RunClean();
        var s = m.Cpu.GetState();
        using var m2 = new TestMachine();
        m2.Cpu.SetState(s);
        var s2 = m2.Cpu.GetState();
        Assert.Equal(s.Rflags, s2.Rflags);
        Assert.Equal(0x40UL, s.Rflags & 0x40);                     // ZF from the lazy ADD
        Assert.Equal(s.Gpr, s2.Gpr);
        Assert.Equal(s.Fpu.Xmm, s2.Fpu.Xmm);
        Assert.Equal((UInt128)0x1234, s.Fpu.Xmm[3]);
        Assert.Equal(s.Segments, s2.Segments);
        Assert.Equal(s.Efer, s2.Efer);
    }
}

/// <summary>The retired-instruction count (deterministic replay and time slicing depend on it).</summary>
public class InstructionCountTests
{
    [Fact]
    public void Counts_retired_instructions_exactly()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            var l = a.CreateLabel();
            a.mov(ecx, 10);                 // 1
            a.Label(ref l); a.dec(ecx); a.jnz(l); // 20
            a.ud2();                        // faults: not retired; the stub then runs mov r15 + hlt (2)
        });
        m.Run();
        Assert.Equal(6UL, m.Vector);
        Assert.Equal(1UL + 20 + 2, m.Cpu.InstructionCount);
    }
}
