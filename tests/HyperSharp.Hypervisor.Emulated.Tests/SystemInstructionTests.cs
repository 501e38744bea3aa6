using HyperSharp.Hypervisor.Emulated.Execution;
using HyperSharp.Hypervisor.Emulated.Memory;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>SYSCALL/SYSRET, interrupts and the interrupt shadow, MSRs, CPUID, port I/O.</summary>
public class SystemInstructionTests
{
    [Fact]
    public void Syscall_sysret_round_trip_between_CPL3_and_CPL0()
    {
        using var m = new TestMachine();
        const ulong entry = 0x120000, user = 0x300000;
        m.Load(a =>
        {
            // Kernel: set LSTAR and SFMASK by WRMSR, then enter user mode with SYSRET.
            a.mov(ecx, 0xC0000082); a.mov(eax, (uint)entry); a.xor(edx, edx); a.wrmsr();
            a.mov(ecx, 0xC0000084); a.mov(eax, 0x200); a.wrmsr();
            a.mov(rcx, user); a.mov(r11, 0x202UL); a.sysretq();
        });
        m.Load(a => { a.mov(ebx, 42); a.mov(r12, rcx); a.mov(r13, r11); a.pushfq(); a.pop(r14); a.mov(r10, cs); a.sysretq(); }, entry);
        m.Load(a => { a.syscall(); a.mov(r9, cs); a.hlt(); }, user);
        m.Run();
        Assert.Equal(42UL, m.Cpu[Gpr.Rbx]);
        Assert.Equal(user + 2, m.Cpu[Gpr.R12]);                   // RCX = return RIP
        Assert.Equal(0x202UL, m.Cpu[Gpr.R13] & 0x202);            // R11 = user RFLAGS
        Assert.Equal(0UL, m.Cpu[Gpr.R14] & 0x200);                // SFMASK cleared IF in the kernel
        Assert.Equal((ulong)TestMachine.KCode, m.Cpu[Gpr.R10] & 0xFFFF);
        Assert.Equal(0x23UL, m.Cpu[Gpr.R9] & 0xFFFF);             // back at CPL3
        Assert.Equal((ulong)Vec.GP, m.Vector);                    // HLT at CPL3
        Assert.Equal(0UL, m.Frame(0));
        Assert.Equal(0x23UL, m.Frame(2));
        Assert.Equal(TestMachine.StackTop - 48, m.Cpu[Gpr.Rsp]);  // switched to RSP0 from the TSS
    }

    [Fact]
    public void Injected_interrupt_wakes_HLT_and_is_delivered_through_the_IDT()
    {
        using var m = new TestMachine();
        m.Load(a => { a.sti(); a.hlt(); a.hlt(); });
        Assert.Equal(CpuExitReason.Halted, m.Run());
        Assert.Equal(TestMachine.NoVector, m.Vector);
        Assert.True(m.Cpu.InterruptWindowOpen);
        Assert.True(m.Cpu.InjectInterrupt(0x40));
        Assert.Equal(CpuExitReason.Halted, m.Run());
        Assert.Equal(0x40UL, m.Vector);
        Assert.Equal(TestMachine.CodeBase + 2, m.Frame(0));       // after the first HLT
        Assert.Equal(0UL, m.Frame(2) & 0x200 ^ 0x200);            // IF was set when interrupted
    }

    [Fact]
    public void Interrupts_wait_while_IF_is_clear_and_window_exit_follows_sti()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            var spin = a.CreateLabel();
            a.cli(); a.mov(ecx, 1000);
            a.Label(ref spin); a.dec(ecx); a.jnz(spin);
            a.sti(); a.mov(ebx, 7); a.hlt();
        });
        m.Cpu.InjectInterrupt(0x41);
        Assert.Equal(CpuExitReason.Halted, m.Run());
        // Delivered only after STI and the instruction in its shadow (mov ebx, 7).
        Assert.Equal(0x41UL, m.Vector);
        Assert.Equal(7UL, m.Cpu[Gpr.Rbx]);
        Assert.Equal(0UL, m.Cpu[Gpr.Rcx]);
    }

    [Fact]
    public void Rdmsr_of_unknown_msr_is_GP_and_known_msrs_round_trip()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            a.mov(ecx, 0xC0000102); a.mov(eax, 0x1000); a.mov(edx, 0xFFFF8000); a.wrmsr(); // KERNEL_GS_BASE
            a.swapgs();
            a.mov(ecx, 0xC0000101); a.rdmsr(); a.mov(r8d, eax); a.mov(r9d, edx);          // GS_BASE now
            a.mov(ecx, 0x12345); a.rdmsr();
            a.hlt();
        });
        m.Run();
        Assert.Equal(0x1000UL, m.Cpu[Gpr.R8]);
        Assert.Equal(0xFFFF8000UL, m.Cpu[Gpr.R9]);
        Assert.Equal((ulong)Vec.GP, m.Vector);
    }

    [Fact]
    public void Cpuid_reports_the_model()
    {
        using var m = new TestMachine();
        m.Load(a => { a.xor(eax, eax); a.cpuid(); a.mov(r8d, ebx); a.mov(eax, 0x80000001); a.cpuid(); a.hlt(); });
        m.RunClean();
        Assert.Equal(0x756E6547UL, m.Cpu[Gpr.R8]);                // "Genu"
        Assert.NotEqual(0UL, m.Cpu[Gpr.Rdx] & (1UL << 29));       // long mode
        Assert.NotEqual(0UL, m.Cpu[Gpr.Rdx] & (1UL << 11));       // SYSCALL
    }

    [Fact]
    public void Tsc_frequency_is_announced_and_tsc_adjust_moves_the_tsc()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            a.mov(eax, 0x15); a.cpuid(); a.mov(r8d, ecx);                      // crystal Hz (TSC ratio 1/1)
            a.mov(eax, 0x80000007); a.cpuid(); a.mov(r9d, edx);                // invariant TSC
            a.mov(ecx, 0x3B); a.mov(eax, 0); a.mov(edx, 0x100); a.wrmsr();     // TSC_ADJUST = 2^40
            a.rdtsc(); a.shl(rdx, 32); a.or(rax, rdx); a.mov(r10, rax);
            a.mov(ecx, 0x10); a.xor(eax, eax); a.xor(edx, edx); a.wrmsr();     // TSC = 0 ...
            a.mov(ecx, 0x3B); a.rdmsr(); a.shl(rdx, 32); a.or(rax, rdx); a.mov(r11, rax); // ... moves TSC_ADJUST down with it
            a.hlt();
        });
        m.RunClean();
        Assert.Equal((ulong)X86Cpu.TscHz, m.Cpu[Gpr.R8]);
        Assert.NotEqual(0UL, m.Cpu[Gpr.R9] & (1UL << 8));
        Assert.True(m.Cpu[Gpr.R10] >= 1UL << 40, $"TSC 0x{m.Cpu[Gpr.R10]:X} did not move up by TSC_ADJUST");
        Assert.True((long)m.Cpu[Gpr.R11] < (1L << 40) && (long)m.Cpu[Gpr.R11] > (1L << 40) - (long)m.Cpu[Gpr.R10] - 1_000_000_000,
            $"TSC_ADJUST 0x{m.Cpu[Gpr.R11]:X} after writing TSC = 0");
    }

    private sealed class RecordingIo : ICpuIoHandler
    {
        public readonly List<(ushort, int, uint)> Writes = new();
        public void MmioRead(ulong pa, Span<byte> data) { for (int i = 0; i < data.Length; i++) data[i] = (byte)(pa + (ulong)i); }
        public void MmioWrite(ulong pa, ReadOnlySpan<byte> data) => Writes.Add(((ushort)pa, data.Length, data[0]));
        public uint PortRead(ushort port, int size) => 0xA5A5A5A5u & (size == 4 ? 0xFFFFFFFF : (1u << (size * 8)) - 1);
        public void PortWrite(ushort port, int size, uint value) => Writes.Add((port, size, value));
    }

    [Fact]
    public void Port_and_mmio_accesses_reach_the_io_handler()
    {
        var io = new RecordingIo();
        using var m = new TestMachine();
        var cpu = new X86Cpu(m.Memory, io);
        cpu.SetState(m.Cpu.GetState());
        m.Load(a =>
        {
            a.mov(dx, 0x3F8); a.mov(al, 0x41); a.@out(dx, al);
            a.@in(ax, dx);
            a.mov(rbx, 0xFEC00000UL); a.mov(ecx, __dword_ptr[rbx]);   // beyond RAM (64 MiB): MMIO
            a.mov(__byte_ptr[rbx + 0x10], 0x77);
            a.hlt();
        });
        // Map 0xFEC00000 (outside the identity-mapped 1 GiB): PDPT entry 3 as a 1 GiB page.
        m.W64(TestMachine.Pdpt + 3 * 8, 0xC0000000UL | 0x83);
        Assert.Equal(CpuExitReason.Halted, cpu.Run());
        Assert.Equal((0x3F8, 1, 0x41u), (io.Writes[0].Item1, io.Writes[0].Item2, io.Writes[0].Item3));
        Assert.Equal(0xA5A5UL, cpu[Gpr.Rax] & 0xFFFF);
        Assert.Equal(0x03020100UL, cpu[Gpr.Rcx]);
        Assert.Equal(0x77u, io.Writes[1].Item3);
    }
}

/// <summary>Small system-instruction details.</summary>
public class SystemDetailTests
{
    [Fact]
    public void Int1_is_a_DB_trap_and_the_hypervisor_leaf_names_the_emulator()
    {
        using var m = new TestMachine();
        m.Load(a => { a.mov(eax, 0x40000000); a.cpuid(); a.mov(r8d, ebx); a.int1(); a.hlt(); });
        m.Run();
        Assert.Equal((ulong)Vec.DB, m.Vector);
        Assert.Equal(TestMachine.CodeBase + 11, m.Frame(0));      // trap: after mov eax (5), cpuid (2), mov r8d (3), int1 (1)
        Assert.Equal(0x65707948UL, m.Cpu[Gpr.R8]);               // "Hype"
    }
}
