using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Execution;
using HyperSharp.Hypervisor.Emulated.Memory;
using HyperSharp.Hypervisor.Emulated.State;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>
/// A 32-bit protected-mode guest without paging for gate and task tests: flat kernel code/data (0x08, 0x10), user
/// data/code (0x1B, 0x23), a busy 32-bit TSS (0x28; SS0:ESP0 = 0x10:<see cref="KernelStack"/>) and GDT entries from
/// 0x30 free for the test. Every exception vector enters a 32-bit interrupt gate whose stub records vector, error code
/// (or 0), EIP and CS at <see cref="Record"/> and halts; the record's vector reads <see cref="NoVector"/> until then.
/// </summary>
internal sealed class Protected32Machine : IDisposable
{
    public const ulong Gdt = 0x1000, Idt = 0x2000, Tss = 0x3000, Record = 0x4000, Results = 0x4100, Stubs = 0x5000;
    public const ulong KernelStack = 0x8000, UserStack = 0x9000, Code = 0x10000, UserCode = 0x20000;
    public const ushort KernelCs = 0x08, KernelDs = 0x10, UserDs = 0x1B, UserCs = 0x23, TssSel = 0x28;
    public const uint NoVector = 0xFFFFFFFF;

    private readonly TestMachine _m = new();
    public PhysicalMemory Memory => _m.Memory;
    public X86Cpu Cpu => _m.Cpu;

    public Protected32Machine()
    {
        Memory.Write(0x1000, new byte[0x2F000]); // the long-mode TestMachine's tables live here: start from zeros
        W64(Gdt + 0x08, 0x00CF9B000000FFFF);
        W64(Gdt + 0x10, 0x00CF93000000FFFF);
        W64(Gdt + 0x18, 0x00CFF3000000FFFF);
        W64(Gdt + 0x20, 0x00CFFB000000FFFF);
        W64(Gdt + 0x28, TssDescriptor(Tss, busy: true));
        W32(Tss + 4, (uint)KernelStack); W32(Tss + 8, KernelDs);
        W32(Record, NoVector);
        for (int v = 0; v < 32; v++)
        {
            ulong stub = Stubs + (ulong)v * 32;
            bool hasError = v is 8 or 10 or 11 or 12 or 13 or 14 or 17;
            Memory.Write(stub, Asm.At(32, stub, a =>
            {
                a.mov(__dword_ptr[Record], v);
                if (hasError) a.pop(__dword_ptr[Record + 4]);
                a.pop(__dword_ptr[Record + 8]);
                a.pop(__dword_ptr[Record + 12]);
                a.hlt();
            }));
            W64(Idt + (ulong)v * 8, (stub & 0xFFFF) | (ulong)KernelCs << 16 | 0x8EUL << 40 | (stub >> 16) << 48);
        }
        var s = Cpu.GetState();
        s.Cr0 = 0x31; s.Cr3 = 0; s.Cr4 = 0x600; s.Efer = 0; // PE ET NE; OSFXSR OSXMMEXCPT
        s.Segments[(int)Seg.Cs] = new SegmentRegister(KernelCs, 0, 0xFFFFFFFF, 0xC09B);
        foreach (int i in new[] { (int)Seg.Ds, (int)Seg.Es, (int)Seg.Ss, (int)Seg.Fs, (int)Seg.Gs })
            s.Segments[i] = new SegmentRegister(KernelDs, 0, 0xFFFFFFFF, 0xC093);
        s.Gdtr = new DescriptorTableRegister(Gdt, 0xFF);
        s.Idtr = new DescriptorTableRegister(Idt, 32 * 8 - 1);
        s.Tr = new SegmentRegister(TssSel, Tss, 0x67, 0x8B);
        s.Rip = Code;
        s.Rflags = 2;
        s.Gpr[(int)Gpr.Rsp] = KernelStack;
        Cpu.SetState(s);
    }

    /// <summary>An available (or busy) 32-bit TSS descriptor, DPL 0, limit 0x67.</summary>
    public static ulong TssDescriptor(ulong at, bool busy, int dpl = 0)
        => 0x67 | (at & 0xFFFFFF) << 16 | (ulong)((busy ? 0x8B : 0x89) | dpl << 5) << 40 | (at >> 24) << 56;

    /// <summary>A 32-bit (or 16-bit) call gate to <paramref name="cs"/>:<paramref name="target"/> copying <paramref name="parameters"/> stack entries.</summary>
    public static ulong CallGate(ushort cs, ulong target, int dpl, int parameters = 0, bool gate32 = true, bool present = true)
        => (target & 0xFFFF) | (ulong)cs << 16 | (ulong)parameters << 32
           | (ulong)((gate32 ? 0xC : 0x4) | dpl << 5 | (present ? 0x80 : 0)) << 40 | ((target >> 16) & 0xFFFF) << 48;

    public void W64(ulong pa, ulong v) => Memory.Write(pa, BitConverter.GetBytes(v));
    public void W32(ulong pa, uint v) => Memory.Write(pa, BitConverter.GetBytes(v));
    public uint R32(ulong pa) => BitConverter.ToUInt32(Memory.Span(pa, 4));

    public void Load(ulong at, Action<Assembler> program) => Memory.Write(at, Asm.At(32, at, program));

    /// <summary>Kernel code that enters CPL3 at <see cref="UserCode"/> (IRETD, user stack <see cref="UserStack"/>).</summary>
    public static void ToUser(Assembler a)
    {
        a.push(UserDs); a.push((uint)UserStack); a.push(2); a.push(UserCs); a.push((uint)UserCode);
        a.iretd();
    }

    /// <summary>Runs from <see cref="Code"/> at CPL0 until HLT.</summary>
    public void Run() => Assert.Equal(CpuExitReason.Halted, Cpu.Run(1_000_000));

    public uint Vector => R32(Record);
    public uint ErrorCode => R32(Record + 4);
    public uint FaultEip => R32(Record + 8);
    public uint Result(int index) => R32(Results + (ulong)index * 4);

    public void Dispose() => _m.Dispose();
}
