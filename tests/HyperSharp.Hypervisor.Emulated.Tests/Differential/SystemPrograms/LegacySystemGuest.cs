using HyperSharp.Hypervisor.Testing;
using HyperSharp.Hypervisor.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests.Differential.SystemPrograms;

/// <summary>
/// The 32-bit protected-mode counterpart of <see cref="SystemGuest"/> (no paging), for call gates and task switches
/// on any backend: flat kernel code/data (0x08, 0x10), user data/code (0x1B, 0x23), a busy 32-bit TSS (0x28, SS0:ESP0 =
/// 0x10:<see cref="KernelStack"/>), GDT entries from 0x30 free for the program. Every exception enters a 32-bit
/// interrupt gate whose stub writes vector, error code (or 0), EIP, CS and ESP at its entry to <see cref="Record"/> and
/// exits through <see cref="SystemGuest.FaultPort"/>; a program that finishes does OUT to <see cref="SystemGuest.DonePort"/>.
/// </summary>
internal sealed class LegacySystemGuest : ISystemGuest
{
    public const ulong RamSize = 4 << 20;
    public const ulong Gdt = 0x5000, Tss = 0x6000, Idt = 0x7000, Stubs = 0x8000, Record = 0xA000, Results = 0xB000;
    public const ulong UserStack = 0x60000, Stack = 0x70000, KernelStack = 0x80000, Code = 0x100000, UserCode = 0x180000;
    public const ushort KernelCs = 0x08, KernelDs = 0x10, UserDs = 0x1B, UserCs = 0x23, TssSel = 0x28;

    private readonly GuestMemory _memory;
    private readonly IPartition _partition;

    public LegacySystemGuest(IHypervisor hypervisor)
    {
        _memory = GuestMemory.Allocate(RamSize);
        _partition = BareGuest.Create(hypervisor, _memory);
        _memory.Write(Gdt + 0x08, 0x00CF9B000000FFFFUL);
        _memory.Write(Gdt + 0x10, 0x00CF93000000FFFFUL);
        _memory.Write(Gdt + 0x18, 0x00CFF3000000FFFFUL);
        _memory.Write(Gdt + 0x20, 0x00CFFB000000FFFFUL);
        _memory.Write(Gdt + 0x28, Protected32Machine.TssDescriptor(Tss, busy: true));
        _memory.Write(Tss + 4, (uint)KernelStack);
        _memory.Write(Tss + 8, (uint)KernelDs);
        for (int v = 0; v < 32; v++)
        {
            ulong stub = Stubs + (ulong)v * 64;
            bool hasError = v is 8 or 10 or 11 or 12 or 13 or 14 or 17;
            _memory.Write(stub, Asm.At(32, stub, a =>
            {
                a.mov(__dword_ptr[Record + 16], esp);
                a.mov(__dword_ptr[Record], v);
                if (hasError) a.pop(__dword_ptr[Record + 4]);
                a.pop(__dword_ptr[Record + 8]);
                a.pop(__dword_ptr[Record + 12]);
                a.@out(SystemGuest.FaultPort, al);
                a.hlt();
            }));
            SetIdt(v, (stub & 0xFFFF) | (ulong)KernelCs << 16 | 0x8EUL << 40 | (stub >> 16) << 48);
        }
    }

    public void SetDescriptor(ushort offset, ulong descriptor) => _memory.Write(Gdt + offset, descriptor);
    public void SetIdt(int vector, ulong gate) => _memory.Write(Idt + (ulong)vector * 8, gate);
    public void Write(ulong address, uint value) => _memory.Write(address, value);
    public uint Read(ulong address) => _memory.Read<uint>(address);
    public void Load(ulong at, Action<Assembler> program) => _memory.Write(at, Asm.At(32, at, program));

    /// <summary>Start at CPL3 (<see cref="UserCode"/>, <see cref="UserStack"/>) instead of CPL0 at <see cref="Code"/>: user
    /// code runs natively under this host's KVM, whose emulation of kernel code lacks IRETD and far transfers to TSSs.</summary>
    public bool StartInUserMode { get; set; }

    public (int port, byte[] record, byte[] results) Run()
    {
        using var vp = _partition.CreateProcessor(0);
        uint common = SegmentRegister.Present | SegmentRegister.CodeOrData | SegmentRegister.DefaultBig | SegmentRegister.Granularity;
        uint dpl = StartInUserMode ? 3u << 5 : 0;
        var code = new SegmentRegister(StartInUserMode ? UserCs : KernelCs, 0, 0xFFFF_FFFF, 0xB | common | dpl);
        var data = new SegmentRegister(StartInUserMode ? UserDs : KernelDs, 0, 0xFFFF_FFFF, 0x3 | common | dpl);
        var gpr = new ulong[16];
        gpr[(int)GeneralRegister.Rsp] = StartInUserMode ? UserStack : Stack;
        vp.SetState(vp.GetState() with
        {
            GeneralRegisters = gpr, Rip = StartInUserMode ? UserCode : Code, Rflags = 2,
            Cs = code, Ds = data, Es = data, Ss = data, Fs = data, Gs = data,
            Tr = new SegmentRegister(TssSel, Tss, 0x67, 0xB | SegmentRegister.Present),
            Ldtr = new SegmentRegister(0, 0, 0xFFFF, 0x2 | SegmentRegister.Present | SegmentRegister.Unusable),
            Gdtr = new TableRegister(Gdt, 0xFF), Idtr = new TableRegister(Idt, 32 * 8 - 1),
            Cr0 = 0x31, Cr3 = 0, Cr4 = 0x600, Efer = 0, // PE ET NE; OSFXSR OSXMMEXCPT; no paging
            RunState = ProcessorRunState.Runnable,
        });
        return (SystemGuest.ExitPort(vp), _memory.GetSpan(Record, 0x80).ToArray(), _memory.GetSpan(Results, 0x80).ToArray());
    }

    public void Dispose()
    {
        _partition.Dispose();
        _memory.Dispose();
    }
}

/// <summary>A system-level guest program's environment: runs it and returns what the backends must agree on.</summary>
internal interface ISystemGuest : IDisposable
{
    (int port, byte[] record, byte[] results) Run();
}
