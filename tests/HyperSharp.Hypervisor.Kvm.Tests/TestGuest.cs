using HyperSharp.Hypervisor.State;
using Iced.Intel;

namespace HyperSharp.Hypervisor.Kvm.Tests;

/// <summary>
/// A small long-mode guest for tests: 2 MiB of RAM with identity-mapped page tables (first 4 GiB, 2 MiB pages, so the APIC pages are reachable),
/// a GDT with 64-bit code, data and a TSS, an IDT, a stack, and programs assembled with Iced.
/// </summary>
internal sealed class TestGuest : IDisposable
{
    public const ulong RamSize = 0x200000;
    public const ulong Pml4 = 0x1000, Pdpt = 0x2000, PageDirectory = 0x20000, Idt = 0x4000, Tss = 0x7000, Gdt = 0x500;
    public const ulong CodeAddress = 0x10000, HandlerAddress = 0x18000, StackTop = 0x80000;
    public const ushort CodeSelector = 0x08, DataSelector = 0x10, TssSelector = 0x18;

    public TestGuest(IHypervisor hypervisor, PartitionOptions? options = null, bool mapRam = true)
    {
        Memory = GuestMemory.Allocate(RamSize);
        try
        {
            Partition = hypervisor.CreatePartition(options ?? new PartitionOptions());
            if (mapRam)
                Partition.MapMemory(new MemorySlot(0, 0, Memory, 0, RamSize));
            WriteTables();
        }
        catch
        {
            Partition?.Dispose();
            Memory.Dispose();
            throw;
        }
    }

    public GuestMemory Memory { get; }
    public IPartition Partition { get; }

    /// <summary>Assembles a 64-bit program at <paramref name="address"/> and writes it to guest memory.</summary>
    public void Load(ulong address, Action<Assembler> program)
    {
        var a = new Assembler(64);
        program(a);
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), address);
        Memory.Write(address, stream.ToArray());
    }

    /// <summary>Points IDT vector <paramref name="vector"/> at <paramref name="handler"/> (64-bit interrupt gate, DPL 0).</summary>
    public void SetInterruptGate(int vector, ulong handler)
    {
        ulong low = (handler & 0xFFFF) | (ulong)CodeSelector << 16 | 0x8EUL << 40 | ((handler >> 16) & 0xFFFF) << 48;
        Memory.Write(Idt + (ulong)vector * 16, low);
        Memory.Write(Idt + (ulong)vector * 16 + 8, handler >> 32);
    }

    /// <summary>Creates processor <paramref name="id"/> in 64-bit mode at <paramref name="rip"/> with its own stack.</summary>
    public IVirtualProcessor StartProcessor(int id, ulong rip = CodeAddress)
    {
        var vp = Partition.CreateProcessor(id);
        vp.SetState(LongMode(vp.GetState(), rip, StackTop - (ulong)id * 0x1000));
        return vp;
    }

    /// <summary>The power-on state turned into 64-bit mode with paging over this guest's tables.</summary>
    public static VirtualProcessorState LongMode(VirtualProcessorState s, ulong rip, ulong rsp)
    {
        const uint present = SegmentRegister.Present, code = SegmentRegister.CodeOrData;
        var cs = new SegmentRegister(CodeSelector, 0, 0xFFFF_FFFF, 0xB | code | present | SegmentRegister.LongMode | SegmentRegister.Granularity);
        var ds = new SegmentRegister(DataSelector, 0, 0xFFFF_FFFF, 0x3 | code | present | SegmentRegister.DefaultBig | SegmentRegister.Granularity);
        var tr = new SegmentRegister(TssSelector, Tss, 0x67, 0xB | present);
        var ldtr = new SegmentRegister(0, 0, 0xFFFF, 0x2 | present | SegmentRegister.Unusable);
        var gpr = new ulong[16];
        gpr[(int)GeneralRegister.Rsp] = rsp;
        return s with
        {
            GeneralRegisters = gpr, Rip = rip, Rflags = 2,
            Cs = cs, Ds = ds, Es = ds, Ss = ds, Fs = ds, Gs = ds, Tr = tr, Ldtr = ldtr,
            Gdtr = new TableRegister(Gdt, 0x27), Idtr = new TableRegister(Idt, 0xFFF),
            Cr0 = 0x8005_0033, // PG WP NE ET MP PE
            Cr3 = Pml4,
            Cr4 = 0x620,       // PAE OSFXSR OSXMMEXCPT
            Efer = 0x500,      // LME LMA
            RunState = ProcessorRunState.Runnable, // application processors power on waiting for INIT/SIPI
        };
    }

    private void WriteTables()
    {
        Memory.Write(Pml4, Pdpt | 3);
        for (ulong gib = 0; gib < 4; gib++)
            Memory.Write(Pdpt + gib * 8, (PageDirectory + gib * 0x1000) | 3);
        for (ulong i = 0; i < 4 * 512; i++)
            Memory.Write(PageDirectory + i * 8, (i << 21) | 0x83); // present, writable, 2 MiB page

        Memory.Write(Gdt + 0x08, 0x00AF_9B00_0000_FFFFUL); // 64-bit code
        Memory.Write(Gdt + 0x10, 0x00CF_9300_0000_FFFFUL); // data
        ulong tssLow = 0x67 | (Tss & 0xFFFF) << 16 | ((Tss >> 16) & 0xFF) << 32 | 0x8BUL << 40 | ((Tss >> 24) & 0xFF) << 56;
        Memory.Write(Gdt + 0x18, tssLow);
        Memory.Write(Gdt + 0x20, Tss >> 32);
    }

    public void Dispose()
    {
        Partition.Dispose();
        Memory.Dispose();
    }
}
