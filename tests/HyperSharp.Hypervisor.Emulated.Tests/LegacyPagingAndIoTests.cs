using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Execution;
using HyperSharp.Hypervisor.Emulated.Memory;
using HyperSharp.Hypervisor.Emulated.State;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>Legacy PAE paging in 32-bit protected mode, and the TSS I/O permission bitmap.</summary>
public class LegacyPagingAndIoTests
{
    [Fact]
    public void Pae_paging_maps_2M_and_4K_pages_with_NX_and_AD_bits()
    {
        using var m = new TestMachine();
        const ulong pdpt = 0x20000, pd = 0x21000, pt = 0x22000, code = 0x7000;
        m.W64(pdpt, pd | 1);
        m.W64(pd, 0x87);                               // 0-2 MiB identity, 2 MiB page (US RW P)
        m.W64(pd + 8, pt | 7);                         // 2-4 MiB through a page table
        m.W64(pt + 5 * 8, 0x300000 | 7);              // 0x205000 -> 0x300000
        m.W64(pt + 6 * 8, 0x301000 | 7 | (1UL << 63)); // 0x206000 -> 0x301000, NX
        m.W64(0x300000, 0xABCD);
        m.Memory.Write(code, Asm.At(32, code, a =>
        {
            a.mov(eax, __dword_ptr[0x205000]);
            a.mov(__dword_ptr[0x205004], eax);
            a.mov(ebx, 0x206000); a.jmp(ebx);          // fetch from the NX page
        }));
        m.W64(TestMachine.Gdt + 0x38, 0x00CF9B000000FFFF);
        var s = m.Cpu.GetState();
        s.Cr0 = 0x80010033; s.Cr3 = pdpt; s.Cr4 = 0x220; s.Efer = 0x800; // PAE, NXE, no LME
        s.Segments[(int)Seg.Cs] = new SegmentRegister(0x38, 0, 0xFFFFFFFF, 0xC09B);
        for (int i = 0; i < 6; i++) if (i != (int)Seg.Cs) s.Segments[i] = new SegmentRegister(0x10, 0, 0xFFFFFFFF, 0xC093);
        s.Gdtr = new DescriptorTableRegister(TestMachine.Gdt, 0x3F);
        s.Idtr = new DescriptorTableRegister(0x6000, 0x7FF);
        s.Rip = code;
        s.Gpr[(int)Gpr.Rsp] = 0x60000;
        m.Cpu.SetState(s);
        // 32-bit IDT: #PF (14) -> 0x38:0x7800 which halts.
        ulong h = 0x7800;
        m.W64(0x6000 + 14 * 8, (h & 0xFFFF) | (0x38UL << 16) | (0x8EUL << 40) | ((h >> 16) << 48));
        m.Memory.Write(h, [0xF4]);
        Assert.Equal(CpuExitReason.Halted, m.Run());
        Assert.Equal(0xABCDUL, m.Cpu[Gpr.Rax]);
        Assert.Equal(0xABCDUL, m.R64(0x300004) & 0xFFFFFFFF);
        Assert.Equal(0x206000UL, m.Cpu.Cr2);
        Assert.Equal(0x11UL, m.R64(0x60000 - 16) & 0xFFFFFFFF);   // error code: P | I/D (pushed as a dword)
        Assert.Equal(0x60UL, m.R64(pt + 5 * 8) & 0x60);           // A and D on the written 4 KiB page
    }

    [Fact]
    public void User_port_access_follows_the_io_bitmap()
    {
        using var m = new TestMachine();
        var io = new Recorder();
        var cpu = new X86Cpu(m.Memory, io);
        var s = m.Cpu.GetState();
        // A TSS with an I/O bitmap at offset 0x68 covering all ports; port 0x81 denied.
        m.Memory.Write(TestMachine.Tss + 0x66, [0x68, 0x00]);
        m.Memory.Write(TestMachine.Tss + 0x68 + 0x81 / 8, [(byte)(1 << (0x81 % 8))]);
        s.Tr = new SegmentRegister(TestMachine.TssSel, TestMachine.Tss, 0x68 + 0x2000, 0x8B);
        cpu.SetState(s);
        m.Load(a => { a.mov(rcx, 0x300000UL); a.mov(r11, 2UL); a.sysretq(); });
        m.Load(a => { a.mov(al, 1); a.@out(0x80, al); a.@out(0x81, al); a.hlt(); }, 0x300000);
        Assert.Equal(CpuExitReason.Halted, cpu.Run());
        Assert.Equal((ulong)Vec.GP, cpu[Gpr.R15]);
        Assert.Equal(new[] { 0x80 }, io.Ports.ToArray());
    }

    private sealed class Recorder : ICpuIoHandler
    {
        public readonly List<int> Ports = new();
        public void MmioRead(ulong pa, Span<byte> data) => data.Fill(0xFF);
        public void MmioWrite(ulong pa, ReadOnlySpan<byte> data) { }
        public uint PortRead(ushort port, int size) => 0;
        public void PortWrite(ushort port, int size, uint value) => Ports.Add(port);
    }
}
