using HyperSharp.Hypervisor.Emulated.Execution;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>Decoded (and compiled) code is cached; writes to its bytes (by the guest or the host) must be seen, on every tier.</summary>
public class SelfModifyingCodeTests
{
    [Theory]
    [MemberData(nameof(TestMachine.Tiers), MemberType = typeof(TestMachine))]
    public void Store_into_the_running_block_changes_the_next_instruction(string tier)
    {
        using var m = new TestMachine().OnTier(tier);
        // mov rbx, imm64 (10 bytes); mov byte [rbx], 42 (3 bytes); mov eax, 0 (B8 imm32) at offset 13.
        m.Load(a => { a.mov(rbx, TestMachine.CodeBase + 14); a.mov(__byte_ptr[rbx], 42); a.mov(eax, 0); a.hlt(); });
        m.RunClean();
        Assert.Equal(42UL, m.Cpu[Gpr.Rax]);
    }

    [Theory]
    [MemberData(nameof(TestMachine.Tiers), MemberType = typeof(TestMachine))]
    public void Code_rewritten_by_the_host_between_runs_is_redecoded(string tier)
    {
        using var m = new TestMachine().OnTier(tier);
        m.Load(a => { a.mov(eax, 1); a.hlt(); });
        m.RunClean();
        Assert.Equal(1UL, m.Cpu[Gpr.Rax]);
        m.Load(a => { a.mov(eax, 2); a.hlt(); });
        var s = m.Cpu.GetState();
        s.Rip = TestMachine.CodeBase;
        s.Halted = false;
        m.Cpu.SetState(s);
        m.RunClean();
        Assert.Equal(2UL, m.Cpu[Gpr.Rax]);
    }

    [Theory]
    [MemberData(nameof(TestMachine.Tiers), MemberType = typeof(TestMachine))]
    public void Loop_that_patches_a_called_function_sees_each_version(string tier)
    {
        using var m = new TestMachine().OnTier(tier);
        const ulong fn = 0x110000;
        // fn: add rbx, imm8 ; ret   (imm8 at fn + 3)
        m.Load(a => { a.add(rbx, 1); a.ret(); }, fn);
        m.Load(a =>
        {
            var loop = a.CreateLabel();
            a.xor(ebx, ebx); a.mov(ecx, 1); a.mov(rdi, fn + 3);
            a.Label(ref loop);
            a.mov(__byte_ptr[rdi], cl);   // patch the immediate to the loop counter
            a.call(fn);
            a.inc(ecx); a.cmp(ecx, 10); a.jbe(loop);
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(55UL, m.Cpu[Gpr.Rbx]); // 1 + 2 + ... + 10
    }
}
