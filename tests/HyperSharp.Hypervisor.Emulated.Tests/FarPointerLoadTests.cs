using HyperSharp.Hypervisor.Emulated.Execution;
using HyperSharp.Hypervisor.Emulated.State;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>LDS LES LFS LGS LSS in real mode, as boot sectors use them (syslinux's FAT boot sector opens with LFS SI, [BX]).</summary>
public class FarPointerLoadTests
{
    private const ulong Code = 0x7C00;

    [Fact]
    public void Real_mode_far_pointer_loads_set_the_segment_and_the_register()
    {
        using var m = new TestMachine();
        m.Memory.Write(0x78, [0x22, 0x11, 0x00, 0xF0]);                    // the int 1Eh vector: F000:1122
        m.Memory.Write(0x500, [0x78, 0x56, 0x34, 0x12, 0xCD, 0xAB]);       // a 32-bit offset 12345678h, selector ABCDh
        m.Memory.Write(Code, Asm.At(16, Code, a =>
        {
            a.mov(bx, 0x78);
            a.db(0x0F, 0xB4, 0x37);                                          // lfs si, [bx]
            a.db(0x66, 0xC4, 0x3E, 0x00, 0x05);                              // les edi, [0500h] (32-bit offset)
            a.db(0x0F, 0xB5, 0x2F);                                          // lgs bp, [bx]
            a.db(0xC5, 0x16, 0x78, 0x00);                                    // lds dx, [0078h]
            a.xor(ax, ax); a.mov(ds, ax);
            a.db(0x0F, 0xB2, 0x26, 0x78, 0x00);                              // lss sp, [0078h]
            a.hlt();
        }));
        var s = new CpuState { Cr0 = 0x60000010, Rip = Code, Idtr = new DescriptorTableRegister(0, 0x3FF) };
        s.Segments[(int)Seg.Cs] = SegmentRegister.RealMode(0, 0x9B);
        for (int i = 0; i < 6; i++) if (i != (int)Seg.Cs) s.Segments[i] = SegmentRegister.RealMode(0);
        s.Gpr[(int)Gpr.R15] = TestMachine.NoVector;
        s.Gpr[(int)Gpr.Rsi] = 0xFFFF_0000;                                   // a 16-bit load keeps the upper bits
        m.Cpu.SetState(s);
        m.RunClean();
        Assert.Equal(0xF000, m.Cpu.GetSegment(Seg.Fs).Selector);
        Assert.Equal(0xF0000UL, m.Cpu.GetSegment(Seg.Fs).Base);
        Assert.Equal(0xFFFF_1122UL, m.Cpu[Gpr.Rsi]);
        Assert.Equal(0xABCD, m.Cpu.GetSegment(Seg.Es).Selector);
        Assert.Equal(0x1234_5678UL, m.Cpu[Gpr.Rdi]);
        Assert.Equal(0xF000, m.Cpu.GetSegment(Seg.Gs).Selector);
        Assert.Equal(0x1122UL, m.Cpu[Gpr.Rbp] & 0xFFFF);
        Assert.Equal(0x1122UL, m.Cpu[Gpr.Rdx] & 0xFFFF);
        Assert.Equal(0xF000, m.Cpu.GetSegment(Seg.Ss).Selector);
        Assert.Equal(0x1122UL, m.Cpu[Gpr.Rsp] & 0xFFFF);
    }
}
