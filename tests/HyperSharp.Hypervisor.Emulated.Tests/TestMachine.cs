using Iced.Intel;
using HyperSharp.Hypervisor.Emulated.Execution;
using HyperSharp.Hypervisor.Emulated.Memory;
using HyperSharp.Hypervisor.Emulated.State;

namespace HyperSharp.Hypervisor.Emulated.Tests;

/// <summary>
/// A tiny long-mode guest: identity-mapped first 1 GiB (2 MiB pages, user-accessible, writable), a GDT with
/// kernel/user code and data and a TSS, an IDT whose every vector N points at a stub "mov r15, N; hlt",
/// kernel stack at 0x70000, IST1 stack at 0x90000. Programs assembled with Iced go to <see cref="CodeBase"/>.
/// </summary>
internal sealed unsafe class TestMachine : IDisposable
{
    public const ulong Pml4 = 0x1000, Pdpt = 0x2000, Pd = 0x3000, Gdt = 0x5000, Tss = 0x6000, Idt = 0x7000,
        Stubs = 0x8000, StackTop = 0x70000, IstTop = 0x90000, CodeBase = 0x100000, Data = 0x200000;
    public const ushort KCode = 0x08, KData = 0x10, UData = 0x1B, UCode = 0x23, TssSel = 0x28;

    public PhysicalMemory Memory { get; }
    public X86Cpu Cpu { get; }

    /// <summary>The TSC clock of this machine's processors (a second processor on <see cref="Memory"/> shares it).</summary>
    public TimestampClock Clock { get; } = new();

    public TestMachine(ulong ramBytes = 64 << 20, ProcessorVendor vendor = ProcessorVendor.Intel)
    {
        Memory = PhysicalMemory.Allocate(ramBytes);
        W64(Pml4, Pdpt | 7);
        W64(Pdpt, Pd | 7);
        for (ulong i = 0; i < 512; i++) W64(Pd + i * 8, (i << 21) | 0x87); // P RW US PS
        W64(Gdt + 0x08, 0x00AF9B000000FFFF);
        W64(Gdt + 0x10, 0x00CF93000000FFFF);
        W64(Gdt + 0x18, 0x00CFF3000000FFFF);
        W64(Gdt + 0x20, 0x00AFFB000000FFFF);
        ulong tssDesc = 0x67 | ((Tss & 0xFFFFFF) << 16) | (0x89UL << 40) | ((Tss >> 24) << 56);
        W64(Gdt + 0x28, tssDesc);
        W64(Gdt + 0x30, Tss >> 32);
        W64(Tss + 4, StackTop);          // RSP0
        W64(Tss + 0x24, IstTop);         // IST1
        for (ulong v = 0; v < 256; v++)
        {
            ulong stub = Stubs + v * 16;
            byte[] code = { 0x49, 0xC7, 0xC7, (byte)v, 0, 0, 0, 0xF4 }; // mov r15, v; hlt
            Memory.Write(stub, code);
            ulong lo = (stub & 0xFFFF) | ((ulong)KCode << 16) | (0x8EUL << 40) | ((stub >> 16 & 0xFFFF) << 48);
            W64(Idt + v * 16, lo);
            W64(Idt + v * 16 + 8, stub >> 32);
        }
        Cpu = new X86Cpu(Memory, vendor: vendor, clock: Clock);
        var s = Cpu.GetState();
        s.Cr0 = 0x80010033; // PG WP NE ET MP PE
        s.Cr3 = Pml4;
        s.Cr4 = 0x2A0;      // PAE PGE OSFXSR
        s.Efer = 0xD01;     // SCE LME LMA NXE
        s.Segments[(int)Seg.Cs] = new SegmentRegister(KCode, 0, 0xFFFFFFFF, 0xA09B);
        for (int i = 0; i < 6; i++)
            if (i != (int)Seg.Cs) s.Segments[i] = new SegmentRegister(KData, 0, 0xFFFFFFFF, 0xC093);
        s.Gdtr = new DescriptorTableRegister(Gdt, 0x37);
        s.Idtr = new DescriptorTableRegister(Idt, 0xFFF);
        s.Tr = new SegmentRegister(TssSel, Tss, 0x67, 0x8B);
        s.Rip = CodeBase;
        s.Gpr[(int)Gpr.Rsp] = StackTop;
        s.Gpr[(int)Gpr.R15] = NoVector;
        s.Rflags = 2;
        s.Star = (0x10UL << 48) | ((ulong)KCode << 32);
        Cpu.SetState(s);
    }

    public void W64(ulong pa, ulong v) => Memory.Write(pa, BitConverter.GetBytes(v));
    public ulong R64(ulong pa) => BitConverter.ToUInt64(Memory.Span(pa, 8));

    /// <summary>Assembles a 64-bit program at <paramref name="at"/> (default CodeBase) into guest memory.</summary>
    public void Load(Action<Assembler> program, ulong at = CodeBase)
    {
        var a = new Assembler(64);
        program(a);
        var ms = new MemoryStream();
        a.Assemble(new StreamCodeWriter(ms), at);
        Memory.Write(at, ms.ToArray());
    }

    /// <summary>Runs until HLT (or a budget of instructions) and returns the exit.</summary>
    public CpuExitReason Run(ulong budget = 50_000_000) => Cpu.Run(budget);

    /// <summary>R15's value while no IDT stub has run.</summary>
    public const ulong NoVector = 0xDEAD;

    /// <summary>Runs to HLT and checks that no exception was delivered on the way.</summary>
    public void RunClean()
    {
        Assert.Equal(CpuExitReason.Halted, Run());
        Assert.Equal(NoVector, Vector);
    }

    /// <summary>The vector whose IDT stub ran last (r15), i.e. the exception delivered.</summary>
    public ulong Vector => Cpu[Gpr.R15];

    /// <summary>Qword <paramref name="index"/> of the exception frame on the handler's stack.</summary>
    public ulong Frame(int index) => R64(Cpu[Gpr.Rsp] + (ulong)index * 8);

    /// <summary>
    /// Puts the processor on one execution tier: "interpreter", "quick" (every block compiled with handler calls
    /// before its first run) or "optimized" (every block compiled with handlers inlined before its first run).
    /// </summary>
    public TestMachine OnTier(string tier)
    {
        (Cpu.TranslationThreshold, Cpu.OptimizeThreshold) = tier switch
        {
            "interpreter" => (0, 0),
            "quick" => (1, 0),
            "optimized" => (1, 1),
            _ => throw new ArgumentException($"unknown tier '{tier}'", nameof(tier)),
        };
        return this;
    }

    /// <summary>The tiers <see cref="OnTier"/> knows, as theory data.</summary>
    public static TheoryData<string> Tiers => new() { "interpreter", "quick", "optimized" };

    public void Dispose() => Memory.Dispose();
}
