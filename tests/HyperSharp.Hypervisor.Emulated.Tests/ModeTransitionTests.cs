using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Execution;
using HyperSharp.Hypervisor.Emulated.State;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>The climb Linux's AP trampoline makes: real mode -> 32-bit protected mode -> long mode.</summary>
public class ModeTransitionTests
{
    private const ulong Real = 0x7000, Pm32 = 0x7100, Lm64 = 0x7200;
    private const int GdtPtr = 0x6F00, Gdt = 0x6E00;

    [Fact]
    public void Real_to_protected_to_long_mode()
    {
        using var m = new TestMachine();
        // GDT: 0x08 64-bit code, 0x10 data, 0x18 32-bit code.
        m.W64(Gdt + 0x08, 0x00AF9B000000FFFF);
        m.W64(Gdt + 0x10, 0x00CF93000000FFFF);
        m.W64(Gdt + 0x18, 0x00CF9B000000FFFF);
        m.Memory.Write(GdtPtr, [0x1F, 0x00, (byte)(Gdt & 0xFF), (byte)(Gdt >> 8), 0, 0]);
        m.Memory.Write(Real, Asm.At(16, Real, a =>
        {
            a.cli();
            a.db(0x66, 0x0F, 0x01, 0x16, (byte)(GdtPtr & 0xFF), (byte)(GdtPtr >> 8)); // lgdtl [GdtPtr]
            a.mov(eax, cr0); a.or(al, 1); a.mov(cr0, eax);
            a.db(0x66, 0xEA); a.dd((uint)Pm32); a.dw(0x18);                    // ljmpl 0x18:Pm32
        }));
        m.Memory.Write(Pm32, Asm.At(32, Pm32, a =>
        {
            a.mov(ax, 0x10); a.mov(ds, ax); a.mov(es, ax); a.mov(ss, ax);
            a.mov(esp, 0x68000);
            a.push(0x1234); a.pop(edi);                                        // 32-bit stack works
            a.mov(eax, cr4); a.or(eax, 0x20); a.mov(cr4, eax);
            a.mov(eax, (uint)TestMachine.Pml4); a.mov(cr3, eax);
            a.mov(ecx, 0xC0000080); a.rdmsr(); a.or(eax, 0x100); a.wrmsr();
            a.mov(eax, cr0); a.or(eax, 0x80000000); a.mov(cr0, eax);
            a.db(0xEA); a.dd((uint)Lm64); a.dw(0x08);                          // ljmp 0x08:Lm64
        }));
        m.Memory.Write(Lm64, Asm.At(64, Lm64, a =>
        {
            a.mov(rax, 0x123456789UL); a.push(rax); a.pop(rbx);
            a.hlt();
        }));
        var s = new CpuState();
        s.Cr0 = 0x60000010;
        s.Segments[(int)Seg.Cs] = SegmentRegister.RealMode(0, 0x9B);
        for (int i = 0; i < 6; i++) if (i != (int)Seg.Cs) s.Segments[i] = SegmentRegister.RealMode(0);
        s.Gdtr = new DescriptorTableRegister(0, 0xFFFF);
        s.Idtr = new DescriptorTableRegister(0, 0x3FF);
        s.Rip = Real;
        s.Gpr[(int)Gpr.R15] = TestMachine.NoVector;
        m.Cpu.SetState(s);
        Assert.Equal(16, m.Cpu.Bitness);
        m.RunClean();
        Assert.Equal(64, m.Cpu.Bitness);
        Assert.Equal(0x123456789UL, m.Cpu[Gpr.Rbx]);
        Assert.Equal(0x1234UL, m.Cpu[Gpr.Rdi]);
        Assert.NotEqual(0UL, m.Cpu.Efer & 0x400);                 // LMA
        Assert.Equal((ushort)0x08, m.Cpu.GetSegment(Seg.Cs).Selector);
    }

    [Fact]
    public void Real_mode_software_interrupt_goes_through_the_IVT()
    {
        using var m = new TestMachine();
        // IVT entry 0x10 -> 0000:0x7400; the handler sets BX and IRETs.
        m.Memory.Write(0x40, [0x00, 0x74, 0x00, 0x00]);
        m.Memory.Write(0x7400, Asm.At(16, 0x7400, a => { a.mov(bx, 0x4242); a.iret(); }));
        m.Memory.Write(Real, Asm.At(16, Real, a => { a.mov(sp, 0x6000); a.@int(0x10); a.mov(cx, 0x99); a.hlt(); }));
        var s = new CpuState();
        s.Cr0 = 0x60000010;
        s.Segments[(int)Seg.Cs] = SegmentRegister.RealMode(0, 0x9B);
        for (int i = 0; i < 6; i++) if (i != (int)Seg.Cs) s.Segments[i] = SegmentRegister.RealMode(0);
        s.Idtr = new DescriptorTableRegister(0, 0x3FF);
        s.Rip = Real;
        s.Gpr[(int)Gpr.R15] = TestMachine.NoVector;
        m.Cpu.SetState(s);
        m.RunClean();
        Assert.Equal(0x4242UL, m.Cpu[Gpr.Rbx] & 0xFFFF);
        Assert.Equal(0x99UL, m.Cpu[Gpr.Rcx] & 0xFFFF);
        Assert.Equal(0x6000UL, m.Cpu[Gpr.Rsp] & 0xFFFF);
    }
}
