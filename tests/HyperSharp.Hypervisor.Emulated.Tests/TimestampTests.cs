using HyperSharp.Hypervisor.Emulated.Execution;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>
/// The invariant TSC is one clock for all processors of a partition: equal on every processor (IA32_TSC_ADJUST 0),
/// never seen going backwards from one processor to another, kept across save and restore.
/// </summary>
public class TimestampTests
{
    private const int Rounds = 100_000;

    /// <summary>
    /// What Linux's boot-time check does (arch/x86/kernel/tsc_sync.c, check_tsc_warp): processors take turns, under a
    /// spinlock in shared memory, reading the TSC and comparing it with the last value any of them read. Each processor
    /// counts the reads smaller than the previous one (warps), then reads its IA32_TSC_ADJUST.
    /// </summary>
    private static void WarpCheck(Iced.Intel.Assembler a)
    {
        var spin = a.CreateLabel(); var ordered = a.CreateLabel();
        a.mov(rbx, TestMachine.Data); a.mov(r8d, Rounds); a.xor(r10d, r10d);
        a.Label(ref spin);
        a.mov(eax, 1); a.xchg(__dword_ptr[rbx], eax); a.test(eax, eax); a.jnz(spin);
        a.rdtsc(); a.shl(rdx, 32); a.or(rax, rdx);
        a.mov(rcx, __qword_ptr[rbx + 8]);
        a.mov(__qword_ptr[rbx + 8], rax);
        a.mov(__dword_ptr[rbx], 0);                  // release
        a.cmp(rax, rcx); a.jae(ordered);
        a.inc(r10);                                  // this read was earlier than another processor's
        a.Label(ref ordered);
        a.dec(r8d); a.jnz(spin);
        a.mov(ecx, 0x3B); a.rdmsr(); a.shl(rdx, 32); a.or(rax, rdx); a.mov(r9, rax); // IA32_TSC_ADJUST
        a.hlt();
    }

    [Fact]
    public void Processors_read_one_tsc_that_never_goes_backwards_from_one_to_another()
    {
        using var m = new TestMachine();
        m.Load(WarpCheck);
        var second = new X86Cpu(m.Memory, clock: m.Clock);
        second.SetState(m.Cpu.GetState());
        // The boot loader sets the boot processor's state with TSC 0 while the other processor waits for its
        // start-up: that must restart the partition's clock, not give the boot processor a TSC of its own.
        var boot = m.Cpu.GetState();
        boot.Tsc = 0;
        m.Cpu.SetState(boot);
        var t1 = new Thread(() => m.Cpu.Run());
        var t2 = new Thread(() => second.Run());
        t1.Start(); t2.Start();
        Assert.True(t1.Join(TimeSpan.FromSeconds(120)) && t2.Join(TimeSpan.FromSeconds(120)), "the warp check did not finish");
        Assert.True(m.Cpu.IsHalted && second.IsHalted);
        Assert.Equal((0UL, 0UL), (m.Cpu[Gpr.R10], second[Gpr.R10]));   // no warps
        Assert.Equal((0UL, 0UL), (m.Cpu[Gpr.R9], second[Gpr.R9]));     // TSC_ADJUST 0 on both
        Assert.True(m.R64(TestMachine.Data + 8) < 600UL * X86Cpu.TscHz, "the clock did not restart at 0");
    }

    [Fact]
    public void A_tsc_write_moves_only_that_processors_tsc_and_tsc_adjust()
    {
        using var m = new TestMachine();
        var second = new X86Cpu(m.Memory, clock: m.Clock);
        second.SetState(m.Cpu.GetState());
        Assert.True(m.Cpu.TryWriteMsr(ModelSpecificRegisters.Tsc, m.Cpu.Tsc + (1UL << 40)));
        Assert.True(m.Cpu.TryReadMsr(ModelSpecificRegisters.TscAdjust, out ulong adjust));
        Assert.InRange(adjust, (1UL << 40) - (ulong)X86Cpu.TscHz, 1UL << 40); // a TSC write moves TSC_ADJUST by the step
        Assert.True(second.TryReadMsr(ModelSpecificRegisters.TscAdjust, out ulong other));
        Assert.Equal(0UL, other);
        ulong a = second.Tsc, b = m.Cpu.Tsc;
        Assert.InRange(b - a, (1UL << 40) - (ulong)X86Cpu.TscHz, 1UL << 40 + 1);
    }

    [Fact]
    public void Save_and_restore_keep_one_clock_and_continue_from_the_saved_count()
    {
        using var m = new TestMachine();
        var second = new X86Cpu(m.Memory, clock: m.Clock);
        second.SetState(m.Cpu.GetState());
        var saved = new[] { m.Cpu.GetState(), second.GetState() };
        ulong latest = Math.Max(saved[0].Tsc, saved[1].Tsc);

        using var restored = new TestMachine();
        restored.Clock.SetCount(5_000_000_000_000); // another partition, its clock far ahead: the restore must set it
        var restoredSecond = new X86Cpu(restored.Memory, clock: restored.Clock);
        restored.Cpu.SetState(saved[0]);
        restoredSecond.SetState(saved[1]);
        ulong t0 = restored.Cpu.Tsc, t1 = restoredSecond.Tsc, t2 = restored.Cpu.Tsc;
        Assert.True(t0 >= latest && t0 < latest + 60UL * X86Cpu.TscHz, $"restored TSC {t0} against the saved {latest}");
        Assert.True(t0 <= t1 && t1 <= t2, $"reads in order gave {t0}, {t1}, {t2}");   // one clock
        Assert.Equal((0L, 0L), (restored.Cpu.GetState().TscAdjust, restoredSecond.GetState().TscAdjust));
    }
}
