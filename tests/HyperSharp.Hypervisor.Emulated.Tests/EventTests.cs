using HyperSharp.Hypervisor.Emulated.Execution;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>Events from other threads: interrupts into a running loop, NMI blocking, cross-modifying code.</summary>
public class EventTests
{
    [Fact]
    public void Interrupt_injected_from_another_thread_preempts_a_running_loop()
    {
        using var m = new TestMachine();
        m.Load(a => { var l = a.CreateLabel(); a.sti(); a.Label(ref l); a.inc(rbx); a.jmp(l); });
        var t = new Thread(() => { Thread.Sleep(50); m.Cpu.InjectInterrupt(0x30); });
        t.Start();
        Assert.Equal(CpuExitReason.Halted, m.Run(2_000_000_000));
        t.Join();
        Assert.Equal(0x30UL, m.Vector);
        Assert.True(m.Cpu[Gpr.Rbx] > 0);
    }

    [Fact]
    public void Second_NMI_waits_for_IRET()
    {
        using var m = new TestMachine();
        const ulong nmi = 0x50000;
        // NMI handler: count in r12, lowest RSP seen in r13 (nesting would push a second frame), then IRETQ.
        m.Load(a =>
        {
            var next = a.CreateLabel();
            a.inc(r12); a.cmp(rsp, r13); a.cmovb(r13, rsp); a.jmp(next);
            a.Label(ref next); a.iretq();
        }, nmi);
        ulong gate = TestMachine.Idt + 2 * 16;
        m.W64(gate, (nmi & 0xFFFF) | ((ulong)TestMachine.KCode << 16) | (0x8EUL << 40) | ((nmi >> 16 & 0xFFFF) << 48));
        m.Load(a => { var l = a.CreateLabel(); a.Label(ref l); a.inc(rbx); a.cmp(rbx, 100000); a.jb(l); a.hlt(); });
        m.Cpu[Gpr.R13] = ulong.MaxValue;
        m.Cpu.InjectNmi();
        Assert.Equal(CpuExitReason.InstructionLimit, m.Cpu.Run(2));   // stopped inside the first handler
        Assert.Equal(1UL, m.Cpu[Gpr.R12]);
        m.Cpu.InjectNmi();                                              // arrives while NMIs are blocked
        m.RunClean();
        Assert.Equal(2UL, m.Cpu[Gpr.R12]);                              // delivered after the IRETQ
        Assert.Equal(TestMachine.StackTop - 40, m.Cpu[Gpr.R13]);        // never nested
        Assert.Equal(100000UL, m.Cpu[Gpr.Rbx]);
    }

    [Fact]
    public void Code_patched_by_another_vcpu_is_picked_up()
    {
        using var m = new TestMachine();
        // CPU A spins until the instruction at "flag" is patched from "mov eax, 0" to "mov eax, 1".
        const ulong spin = 0x130000;
        m.Load(a =>
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.mov(eax, 0);            // B8 00000000 at spin; patched to B8 01000000
            a.test(eax, eax); a.jz(top);
            a.hlt();
        }, spin);
        m.Cpu.Rip = spin;
        var b = new X86Cpu(m.Memory);
        var s = m.Cpu.GetState();
        b.SetState(s);
        b.Rip = TestMachine.CodeBase;
        m.Load(a => { a.mov(rdi, spin + 1); a.mov(__dword_ptr[rdi], 1); a.hlt(); });
        var ta = new Thread(() => m.Cpu.Run(500_000_000));
        ta.Start();
        Thread.Sleep(20);
        Assert.Equal(CpuExitReason.Halted, b.Run());
        Assert.True(ta.Join(TimeSpan.FromSeconds(20)));
        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(1UL, m.Cpu[Gpr.Rax]);
    }
}

/// <summary>The INTR line with an acknowledge cycle, as the LAPIC/PIC will drive it.</summary>
public class InterruptLineTests
{
    private sealed class Controller : IInterruptController
    {
        public readonly Queue<int> Requests = new();
        public X86Cpu? Cpu;
        public int Acknowledged;
        public int Acknowledge()
        {
            Acknowledged++;
            int v = Requests.Count > 0 ? Requests.Dequeue() : -1;
            Cpu!.SetInterruptLine(Requests.Count > 0);
            return v;
        }
    }

    [Fact]
    public void Asserted_line_is_acknowledged_only_when_IF_is_set()
    {
        using var m = new TestMachine();
        var pic = new Controller { Cpu = m.Cpu };
        m.Cpu.InterruptController = pic;
        m.Load(a =>
        {
            var spin = a.CreateLabel();
            a.cli(); a.mov(ecx, 500);
            a.Label(ref spin); a.dec(ecx); a.jnz(spin);
            a.sti(); a.nop(); a.hlt();
        });
        pic.Requests.Enqueue(0x22);
        m.Cpu.SetInterruptLine(true);
        Assert.Equal(CpuExitReason.Halted, m.Run());
        Assert.Equal(0x22UL, m.Vector);
        Assert.Equal(1, pic.Acknowledged);       // no acknowledge cycles while IF was 0
        Assert.Equal(0UL, m.Cpu[Gpr.Rcx]);        // delivered after the loop, not during it
    }

    [Fact]
    public void Spurious_acknowledge_delivers_nothing_and_HLT_wakes()
    {
        using var m = new TestMachine();
        var pic = new Controller { Cpu = m.Cpu };
        m.Cpu.InterruptController = pic;
        m.Load(a => { a.sti(); a.hlt(); a.mov(ebx, 9); a.hlt(); });
        Assert.Equal(CpuExitReason.Halted, m.Run());
        m.Cpu.SetInterruptLine(true);              // nothing queued: acknowledge returns -1
        Assert.Equal(CpuExitReason.Halted, m.Run());
        Assert.Equal(TestMachine.NoVector, m.Vector);
        Assert.Equal(9UL, m.Cpu[Gpr.Rbx]);         // HLT woke up and continued
    }
}

/// <summary>Long REP string instructions are interruptible between iterations.</summary>
public class InterruptibleRepTests
{
    [Fact]
    public void Stop_request_interrupts_a_long_rep_stos_which_then_resumes()
    {
        using var m = new TestMachine();
        const int count = 47 << 20; // 47 MiB of REP STOSB, interrupted part-way
        m.Load(a => { a.mov(rdi, 0x1000000UL); a.mov(ecx, count); a.mov(al, 0x5A); a.rep.stosb(); a.hlt(); });
        m.Cpu.RequestStop();                                   // pending before the first iteration
        Assert.Equal(CpuExitReason.Stopped, m.Cpu.Run());      // (the stop is seen before the first block)
        // Stop once the REP is seen part-way (RCX between 0 and count), not after a fixed delay that a fast run can outlast.
        var t = new Thread(() =>
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            while (!(m.Cpu[Gpr.Rcx] is > 0 and < (ulong)count) && sw.ElapsedMilliseconds < 5000) Thread.SpinWait(20);
            m.Cpu.RequestStop();
        });
        t.Start();
        var exit = m.Cpu.Run();
        t.Join();
        Assert.Equal(CpuExitReason.Stopped, exit);
        Assert.True(m.Cpu[Gpr.Rcx] > 0);                       // stopped part-way: RCX counts what is left
        Assert.Equal(TestMachine.CodeBase + 17, m.Cpu.Rip);    // still on the REP STOSB
        Assert.Equal(CpuExitReason.Halted, m.Cpu.Run());
        Assert.Equal(0UL, m.Cpu[Gpr.Rcx]);
        Assert.Equal(0x5AUL, m.R64(0x1000000 + count - 8) >> 56);
    }
}
