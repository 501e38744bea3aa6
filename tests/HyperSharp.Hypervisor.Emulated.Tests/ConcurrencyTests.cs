using HyperSharp.Hypervisor.Emulated.Execution;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>Two vCPUs on two threads over one guest memory: LOCK atomicity; stopping from another thread.</summary>
public class ConcurrencyTests
{
    private const int Iterations = 200_000;

    private static void RunOnTwoCpus(TestMachine m)
    {
        var second = new X86Cpu(m.Memory);
        second.SetState(m.Cpu.GetState());
        var t1 = new Thread(() => m.Cpu.Run());
        var t2 = new Thread(() => second.Run());
        t1.Start(); t2.Start();
        Assert.True(t1.Join(TimeSpan.FromSeconds(20)) && t2.Join(TimeSpan.FromSeconds(20)));
        Assert.True(m.Cpu.IsHalted && second.IsHalted);
    }

    [Fact]
    public void Lock_inc_and_xadd_are_atomic_across_threads()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            var loop = a.CreateLabel();
            a.mov(rbx, TestMachine.Data); a.mov(ecx, Iterations); a.mov(edx, 2);
            a.Label(ref loop);
            a.@lock.inc(__qword_ptr[rbx]);
            a.mov(eax, edx); a.@lock.xadd(__dword_ptr[rbx + 8], eax);
            a.dec(ecx); a.jnz(loop);
            a.hlt();
        });
        RunOnTwoCpus(m);
        Assert.Equal(2UL * Iterations, m.R64(TestMachine.Data));
        Assert.Equal(4UL * Iterations, m.R64(TestMachine.Data + 8) & 0xFFFFFFFF);
    }

    [Fact]
    public void Cmpxchg_loop_counts_exactly()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            var loop = a.CreateLabel(); var retry = a.CreateLabel();
            a.mov(rbx, TestMachine.Data); a.mov(ecx, Iterations);
            a.Label(ref loop);
            a.mov(rax, __qword_ptr[rbx]);
            a.Label(ref retry);
            a.lea(rdx, __qword_ptr[rax + 1]);
            a.@lock.cmpxchg(__qword_ptr[rbx], rdx);
            a.jne(retry);
            a.dec(ecx); a.jnz(loop);
            a.hlt();
        });
        RunOnTwoCpus(m);
        Assert.Equal(2UL * Iterations, m.R64(TestMachine.Data));
    }

    [Fact]
    public void RequestStop_ends_an_endless_loop()
    {
        using var m = new TestMachine();
        m.Load(a => { var l = a.CreateLabel(); a.Label(ref l); a.inc(rax); a.jmp(l); });
        var t = new Thread(() => { Thread.Sleep(100); m.Cpu.RequestStop(); });
        t.Start();
        Assert.Equal(CpuExitReason.Stopped, m.Cpu.Run());
        t.Join();
        Assert.True(m.Cpu[Gpr.Rax] > 1000);
    }
}
