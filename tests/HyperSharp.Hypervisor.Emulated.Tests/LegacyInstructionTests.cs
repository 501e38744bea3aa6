using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Execution;
using HyperSharp.Hypervisor.Emulated.State;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>ENTER, XLAT, PUSHA/POPA, BCD adjusts, VERW/LSL, single-step, and 32-bit protected-mode code.</summary>
public class LegacyInstructionTests
{
    [Fact]
    public void Enter_leave_and_xlat()
    {
        using var m = new TestMachine();
        m.Memory.Write(TestMachine.Data, "0123456789"u8);
        m.Load(a =>
        {
            a.mov(rbp, 0x1111UL);
            a.enter(32, 0); a.mov(r8, rbp); a.mov(r9, rsp); a.leave();
            a.mov(rbx, TestMachine.Data); a.mov(al, 7); a.xlatb();
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(TestMachine.StackTop - 8, m.Cpu[Gpr.R8]);
        Assert.Equal(TestMachine.StackTop - 8 - 32, m.Cpu[Gpr.R9]);
        Assert.Equal(0x1111UL, m.Cpu[Gpr.Rbp]);
        Assert.Equal((ulong)'7', m.Cpu[Gpr.Rax] & 0xFF);
    }

    [Fact]
    public void Verw_and_lsl_report_through_ZF()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            a.mov(eax, TestMachine.KData); a.verw(ax); a.setz(bl);        // writable data: ZF=1
            a.mov(eax, TestMachine.KCode); a.verw(ax); a.setz(cl);        // code: ZF=0
            a.mov(eax, TestMachine.KData); a.lsl(edx, eax);               // limit 0xFFFFFFFF (G=1)
            a.mov(eax, 0x7F8); a.verr(ax); a.setz(r8b);                   // beyond the GDT limit
            a.hlt();
        });
        m.RunClean();
        Assert.Equal(1UL, m.Cpu[Gpr.Rbx] & 0xFF);
        Assert.Equal(0UL, m.Cpu[Gpr.Rcx] & 0xFF);
        Assert.Equal(0xFFFFFFFFUL, m.Cpu[Gpr.Rdx]);
        Assert.Equal(0UL, m.Cpu[Gpr.R8] & 0xFF);
    }

    [Fact]
    public void Trap_flag_single_steps_with_DB_after_the_instruction()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            a.pushfq(); a.or(__qword_ptr[rsp], 0x100); a.popfq();   // TF takes effect after POPFQ
            a.mov(ebx, 1);
            a.mov(ecx, 2);
            a.hlt();
        });
        m.Run();
        Assert.Equal((ulong)Vec.DB, m.Vector);
        Assert.Equal(1UL, m.Cpu[Gpr.Rbx]);
        Assert.Equal(0UL, m.Cpu[Gpr.Rcx]);                          // trapped right after mov ebx
        Assert.Equal(0x100UL, m.Frame(2) & 0x100);                  // TF in the pushed RFLAGS
        Assert.NotEqual(0UL, m.Cpu.GetState().Dr[6] & 0x4000);      // DR6.BS
    }

    [Fact]
    public void Protected_mode_32bit_code_with_pusha_bcd_and_an_interrupt_gate()
    {
        using var m = new TestMachine();
        const ulong code = 0x7000, idt = 0x6000, handler = 0x7800;
        m.W64(TestMachine.Gdt + 0x38, 0x00CF9B000000FFFF);  // 32-bit flat code
        // IDT (8-byte gates): vector 0x21 -> 0x38:handler, 32-bit interrupt gate.
        m.W64(idt + 0x21 * 8, (handler & 0xFFFF) | (0x38UL << 16) | (0x8EUL << 40) | ((handler >> 16) << 48));
        m.Memory.Write(handler, Asm.At(32, handler, a => { a.mov(esi, 0x5A); a.iretd(); }));
        m.Memory.Write(code, Asm.At(32, code, a =>
        {
            a.mov(esp, 0x60000);
            a.mov(eax, 1); a.mov(ebx, 2); a.pushad(); a.xor(eax, eax); a.xor(ebx, ebx); a.popad();
            a.mov(al, 0x19); a.add(al, 0x28); a.daa(); a.mov(edx, eax);   // BCD 19 + 28 = 47
            a.@int(0x21);
            a.hlt();
        }));
        var s = m.Cpu.GetState();
        s.Cr0 = 0x60000011; s.Cr4 = 0x200; s.Efer = 0; s.Cr3 = 0;
        s.Segments[(int)Seg.Cs] = new SegmentRegister(0x38, 0, 0xFFFFFFFF, 0xC09B);
        for (int i = 0; i < 6; i++) if (i != (int)Seg.Cs) s.Segments[i] = new SegmentRegister(0x10, 0, 0xFFFFFFFF, 0xC093);
        s.Idtr = new DescriptorTableRegister(idt, 0x7FF);
        s.Gdtr = new DescriptorTableRegister(TestMachine.Gdt, 0x3F);
        s.Rip = code;
        m.Cpu.SetState(s);
        Assert.Equal(32, m.Cpu.Bitness);
        m.RunClean();
        Assert.Equal(0x47UL, m.Cpu[Gpr.Rax]);        // POPAD restored 1, then AL = DAA(0x19 + 0x28)
        Assert.Equal(2UL, m.Cpu[Gpr.Rbx]);
        Assert.Equal(0x47UL, m.Cpu[Gpr.Rdx] & 0xFF);
        Assert.Equal(0x5AUL, m.Cpu[Gpr.Rsi]);
        Assert.Equal(0x60000UL, m.Cpu[Gpr.Rsp]);
    }
}

/// <summary>DR0-3 hardware breakpoints: instruction breakpoints fault before the instruction, data ones trap after.</summary>
public class BreakpointTests
{
    [Fact]
    public void Instruction_breakpoint_faults_before_the_instruction_and_RF_resumes_it()
    {
        using var m = new TestMachine();
        const ulong db = 0x50000;
        // #DB handler: count in r12, set RF in the pushed RFLAGS, return.
        m.Load(a => { a.inc(r12); a.or(__qword_ptr[rsp + 16], 0x10000); a.iretq(); }, db);
        ulong gate = TestMachine.Idt + 1 * 16;
        m.W64(gate, (db & 0xFFFF) | ((ulong)TestMachine.KCode << 16) | (0x8EUL << 40) | ((db >> 16 & 0xFFFF) << 48));
        m.Load(a =>
        {
            a.mov(rax, TestMachine.CodeBase + 0x40); a.mov(dr0, rax);
            a.mov(eax, 1); a.mov(dr7, rax);                 // L0, execute
            a.nop(); a.hlt();
        });
        m.Load(a => { a.mov(ebx, 7); a.hlt(); }, TestMachine.CodeBase + 0x40);
        m.Load(a =>
        {
            a.mov(rax, TestMachine.CodeBase + 0x40); a.mov(dr0, rax);
            a.mov(eax, 1); a.mov(dr7, rax);
            a.mov(rcx, TestMachine.CodeBase + 0x40); a.jmp(rcx);
        });
        m.RunClean();
        Assert.Equal(1UL, m.Cpu[Gpr.R12]);              // one #DB, then RF let the instruction run
        Assert.Equal(7UL, m.Cpu[Gpr.Rbx]);
        Assert.Equal(1UL, m.Cpu.GetState().Dr[6] & 0xF);  // B0
    }

    [Fact]
    public void Data_write_breakpoint_traps_after_the_store()
    {
        using var m = new TestMachine();
        m.Load(a =>
        {
            a.mov(rax, TestMachine.Data + 0x10); a.mov(dr1, rax);
            a.mov(eax, (2 << 2) | (1 << 20) | (3 << 22)); a.mov(dr7, rax);   // L1, write, 4 bytes
            a.mov(rdi, TestMachine.Data);
            a.mov(eax, __dword_ptr[rdi + 0x10]);                               // a read: no hit
            a.mov(__dword_ptr[rdi + 0x12], 5);                                 // overlaps: hit
            a.mov(ebx, 1);
            a.hlt();
        });
        m.Run();
        Assert.Equal((ulong)Vec.DB, m.Vector);
        Assert.Equal(5UL, m.R64(TestMachine.Data + 0x12) & 0xFFFFFFFF);       // the store completed
        Assert.Equal(0UL, m.Cpu[Gpr.Rbx]);                                     // trapped before mov ebx
        Assert.Equal(2UL, m.Cpu.GetState().Dr[6] & 0xF);                        // B1
    }
}
