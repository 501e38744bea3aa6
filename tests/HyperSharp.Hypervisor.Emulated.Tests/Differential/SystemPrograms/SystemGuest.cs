using HyperSharp.Hypervisor.Testing;
using HyperSharp.Hypervisor.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests.Differential.SystemPrograms;

/// <summary>
/// A small long-mode guest for system-level programs that runs the same way on any backend, so an outcome on the
/// software processor can be compared with KVM's. 4 MiB of RAM; the first 2 MiB identity-mapped by one large page,
/// the next 2 MiB by 4 KiB pages whose entries a program's set-up may change (<see cref="SetPte"/>). GDT: kernel
/// code/data, user data/code (DPL 3), a TSS (RSP0, IST1) and a not-present data segment. Every exception enters a
/// handler that writes vector, error code, the frame, CR2 and the handler's RSP to <see cref="Record"/>, then exits
/// (OUT to <see cref="FaultPort"/>); a program that finishes does OUT to <see cref="DonePort"/>. Programs keep their
/// results in <see cref="Results"/>. GDT entries 0x40-0x7F are free for a program's gates (<see cref="SetDescriptor"/>).
/// </summary>
internal sealed class SystemGuest : ISystemGuest
{
    public const ulong RamSize = 4 << 20;
    public const ulong Pml4 = 0x1000, Pdpt = 0x2000, Pd = 0x3000, Pt = 0x4000, Gdt = 0x5000, Tss = 0x6000, Idt = 0x7000, Stubs = 0x8000;
    public const ulong Handler = 0x9000, Record = 0xA000, Results = 0xB000, Stack = 0x70000, KernelStack = 0x80000, IstStack = 0x90000;
    public const ulong Code = 0x100000, UserCode = 0x180000, SmallPages = 0x200000;
    public const ushort KernelCs = 0x08, KernelDs = 0x10, UserDs = 0x1B, UserCs = 0x23, TssSel = 0x28, NotPresentDs = 0x38;
    public const int FaultPort = 0xE0, DonePort = 0xE1;

    private readonly GuestMemory _memory;
    private readonly IPartition _partition;

    public SystemGuest(IHypervisor hypervisor)
    {
        _memory = GuestMemory.Allocate(RamSize);
        _partition = BareGuest.Create(hypervisor, _memory);
        _memory.Write(Pml4, Pdpt | 7);
        _memory.Write(Pdpt, Pd | 7);
        _memory.Write(Pd, 0x87UL);      // 0-2 MiB: P RW US PS
        _memory.Write(Pd + 8, Pt | 7);  // 2-4 MiB: 4 KiB pages
        for (ulong i = 0; i < 512; i++) SetPte(SmallPages + i * 0x1000, (SmallPages + i * 0x1000) | 7);
        _memory.Write(Gdt + 0x08, 0x00AF9B000000FFFFUL);
        _memory.Write(Gdt + 0x10, 0x00CF93000000FFFFUL);
        _memory.Write(Gdt + 0x18, 0x00CFF3000000FFFFUL);
        _memory.Write(Gdt + 0x20, 0x00AFFB000000FFFFUL);
        _memory.Write(Gdt + 0x28, 0x67 | (Tss & 0xFFFFFF) << 16 | 0x89UL << 40);
        _memory.Write(Gdt + 0x38, 0x00CF13000000FFFFUL); // data, DPL 0, not present
        _memory.Write(Tss + 4, KernelStack);
        _memory.Write(Tss + 0x24, IstStack);
        _memory.Write(Handler, Asm.At(64, Handler, RecordingHandler));
        for (int v = 0; v < 32; v++)
        {
            ulong stub = Stubs + (ulong)v * 16;
            bool hasError = v is 8 or 10 or 11 or 12 or 13 or 14 or 17 or 21 or 29 or 30;
            _memory.Write(stub, Asm.At(64, stub, a => { if (!hasError) a.push(0); a.push(v); a.jmp(Handler); }));
            SetGate(v, stub, ist: 0);
        }
    }

    /// <summary>Sets the 4 KiB page-table entry that maps <paramref name="linear"/> (inside the small-page region).</summary>
    public void SetPte(ulong linear, ulong entry) => _memory.Write(Pt + ((linear - SmallPages) >> 12) * 8, entry);

    /// <summary>Points IDT vector <paramref name="vector"/> at its recording stub (interrupt gate, DPL 0) on IST <paramref name="ist"/>.</summary>
    public void SetGate(int vector, ulong stub, int ist)
    {
        ulong low = (stub & 0xFFFF) | (ulong)KernelCs << 16 | (ulong)ist << 32 | 0x8EUL << 40 | ((stub >> 16) & 0xFFFF) << 48;
        _memory.Write(Idt + (ulong)vector * 16, low);
        _memory.Write(Idt + (ulong)vector * 16 + 8, stub >> 32);
    }

    /// <summary>Writes the 8-byte GDT entry at <paramref name="offset"/> (a selector without its RPL and TI bits).</summary>
    public void SetDescriptor(ushort offset, ulong descriptor) => _memory.Write(Gdt + offset, descriptor);

    /// <summary>A 64-bit call gate at GDT <paramref name="offset"/> (16 bytes) to <paramref name="cs"/>:<paramref name="target"/>.</summary>
    public void SetCallGate(ushort offset, ushort cs, ulong target, int dpl, bool present = true, int type = 0xC)
    {
        SetDescriptor(offset, (target & 0xFFFF) | (ulong)cs << 16 | (ulong)(type | dpl << 5 | (present ? 0x80 : 0)) << 40 | ((target >> 16) & 0xFFFF) << 48);
        SetDescriptor((ushort)(offset + 8), target >> 32);
    }

    public static ulong StubOf(int vector) => Stubs + (ulong)vector * 16;

    public void Load(ulong at, Action<Assembler> program) => _memory.Write(at, Asm.At(64, at, program));

    /// <summary>Loads a program and returns the address of the label it marks (where an expected RIP points).</summary>
    public ulong LoadMarked(ulong at, Func<Assembler, Label> program)
    {
        var a = new Assembler(64);
        var mark = program(a);
        var ms = new MemoryStream();
        var result = a.Assemble(new StreamCodeWriter(ms), at, BlockEncoderOptions.ReturnNewInstructionOffsets);
        _memory.Write(at, ms.ToArray());
        return result.GetLabelRIP(mark);
    }

    /// <summary>Creates the processor, at <see cref="Code"/> in 64-bit mode at CPL0.</summary>
    public IVirtualProcessor Start()
    {
        var vp = _partition.CreateProcessor(0);
        vp.SetState(LongModeState.Flat(vp.GetState(), KernelCs, KernelDs, 0, TssSel, Tss,
            new TableRegister(Gdt, 0x7F), new TableRegister(Idt, 32 * 16 - 1), Pml4, Code, Stack, rflags: 2));
        return vp;
    }

    /// <summary>Runs from <see cref="Code"/> at CPL0 until the program exits; returns the port it exited through,
    /// the exception record and the results (what two backends must agree on).</summary>
    public (int port, byte[] record, byte[] results) Run()
    {
        using var vp = Start();
        return (ExitPort(vp), _memory.GetSpan(Record, 0x80).ToArray(), _memory.GetSpan(Results, 0x80).ToArray());
    }

    /// <summary>Runs until the program's OUT to <see cref="FaultPort"/> or <see cref="DonePort"/> (the processor stops right after it) and returns that port.</summary>
    internal static int ExitPort(IVirtualProcessor vp)
    {
        var io = new IoStepper(vp);
        var exit = vp.Run(io);
        if (exit.Kind != ExitKind.Cancelled || io.All.Count == 0 || io.All[0] is not { IsPort: true, IsWrite: true, Address: FaultPort or DonePort })
            throw new InvalidOperationException($"unexpected exit {exit} after accesses [{string.Join(", ", io.All)}] at rip {vp.GetState().Rip:X}");
        return (int)io.All[0].Address;
    }

    public ulong Read(ulong address) => _memory.Read<ulong>(address);

    /// <summary>Stores vector, error code, RIP, CS, RFLAGS, RSP, SS (the frame), CR2 and the handler's RSP into the record.</summary>
    private static void RecordingHandler(Assembler a)
    {
        a.mov(__qword_ptr[Record + 0x40], rsp);
        a.push(rax);
        for (int i = 0; i < 7; i++) { a.mov(rax, __qword_ptr[rsp + 8 + i * 8]); a.mov(__qword_ptr[Record + (ulong)i * 8], rax); }
        a.mov(rax, cr2);
        a.mov(__qword_ptr[Record + 0x38], rax);
        a.pop(rax);
        a.@out(FaultPort, al);
        a.hlt();
    }

    public void Dispose()
    {
        _partition.Dispose();
        _memory.Dispose();
    }
}
