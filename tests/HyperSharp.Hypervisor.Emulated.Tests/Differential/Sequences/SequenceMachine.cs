using HyperSharp.Hypervisor.Testing;
using HyperSharp.Hypervisor.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Emulated.Tests.Differential.Sequences;

/// <summary>
/// Runs batches of <see cref="SequenceCase"/>s as CPL3 code in a small long-mode guest on any backend, so the
/// same image runs on KVM (the oracle: user code executes natively) and on the software processor.
/// Each case gets a code slot: a loader (FXRSTOR, RFLAGS and GPRs from its input record), the sequence, a
/// storer (GPRs, RFLAGS, FXSAVE into its output record) and a jump to the next slot. The whole batch runs in
/// one guest entry at CPL3 with IOPL 3, ending with an OUT (a direct exit, no CPL0 code). An exception in a
/// sequence enters a small CPL0 handler that stores the state at the fault (GPRs, the frame's RIP and RFLAGS,
/// vector, error code, CR2, FXSAVE) as the case's result and IRETQs to the next slot: no exit per exception
/// (handing an exit to the VMM and reading state back cost milliseconds on the emulated backend).
/// </summary>
internal sealed class SequenceMachine : IDisposable
{
    public const int MaxBatch = 2048;
    private const ulong RamSize = 32 << 20;
    private const ulong Pml4 = 0x1000, Pdpt = 0x2000, Pd = 0x3000, Gdt = 0x5000, Tss = 0x6000, Idt = 0x7000, Stubs = 0x8000;
    private const ulong KernelStack = 0x80000, HarnessStack = 0x100000;
    private const ulong CodeBase = 0x200000, SlotSize = 1024, Inputs = 0x600000, Outputs = 0x800000, RecordSize = 1024;
    private const ulong DataBase = 0xA00000;
    /// <summary>A present, user, read-only 2 MiB page and a not-present one: targets for #PF cases.</summary>
    public const ulong ReadOnlyPage = 0xC00000, UnmappedPage = 0x1000000;
    private const ushort KernelCode = 0x08, UserData = 0x1B, UserCode = 0x23, TssSelector = 0x28;
    private const int DonePort = 0xF0;
    public const int HarnessFault = 0x100;
    /// <summary>The batch slot running now: each loader stores its index here for the exception handler.</summary>
    private const ulong Current = 0x9000, Handler = 0xA000;
    // Record layout (input and output): GPRs at 0, RFLAGS at 128, fault fields at 136.., FXSAVE image at 512.
    private const int FlagsAt = 128, VectorAt = 136, ErrorAt = 144, RipAt = 152, Cr2At = 160, FxAt = 512;

    private readonly GuestMemory _memory;
    private readonly IPartition _partition;
    private readonly IVirtualProcessor _vp;
    private readonly VirtualProcessorState _start;
    private readonly int _loaderLength;

    /// <summary>A machine on <paramref name="hypervisor"/> whose processor presents <paramref name="vendor"/> (null: the
    /// backend's default; KVM presents the host's).</summary>
    public SequenceMachine(IHypervisor hypervisor, ProcessorVendor? vendor = null)
    {
        _memory = GuestMemory.Allocate(RamSize);
        _partition = BareGuest.Create(hypervisor, _memory, vendor);
        WriteSystemTables();
        _vp = _partition.CreateProcessor(0);
        // CPL3 from the start, IOPL 3 so the final OUT exits directly.
        _start = LongModeState.Flat(_vp.GetState(), UserCode, UserData, 3, TssSelector, Tss,
            new TableRegister(Gdt, 0x37), new TableRegister(Idt, 32 * 16 - 1), Pml4, CodeBase, HarnessStack, rflags: 0x3002);
        _loaderLength = Asm.At(64, 0, a => Loader(a, 0)).Length;
    }

    public string Backend { get; init; } = "";


    /// <summary>Address of the data page of batch slot <paramref name="i"/> (what RBP holds during the sequence).</summary>
    public static ulong DataOf(int i) => DataBase + (ulong)i * SequenceCase.DataSize;

    /// <summary>Runs up to <see cref="MaxBatch"/> cases in one guest entry; exceptions inside them cost one exit each.</summary>
    public SequenceResult[] Run(IReadOnlyList<SequenceCase> cases)
    {
        if (cases.Count > MaxBatch) throw new ArgumentOutOfRangeException(nameof(cases));
        int n = cases.Count;
        var seqStart = new ulong[n];
        for (int i = 0; i < n; i++)
        {
            var c = cases[i];
            ulong slot = CodeBase + (ulong)i * SlotSize;
            seqStart[i] = slot + (ulong)_loaderLength;
            var code = Asm.At(64, slot, a =>
            {
                Loader(a, i);
                foreach (var part in c.Parts) foreach (byte b in part) a.db(b);
                Storer(a, i);
            });
            if (code.Length > (int)SlotSize) throw new InvalidOperationException($"case {i} needs {code.Length} bytes of code");
            _memory.Write(slot, code);
            ulong input = Inputs + (ulong)i * RecordSize, output = Outputs + (ulong)i * RecordSize;
            for (int r = 0; r < 16; r++) _memory.Write(input + (ulong)r * 8, c.Regs[r]);
            _memory.Write(input + FlagsAt, 0x2 | c.Flags); // IF stays clear: no interrupt may land in a case
            _memory.Write(input + FxAt, c.Fx);
            _memory.GetSpan(output, (int)RecordSize).Clear();
            _memory.Write(output + VectorAt, (long)SequenceResult.NoFault);
            _memory.Write(DataOf(i), c.Data);
        }
        ulong end = CodeBase + (ulong)n * SlotSize;
        _memory.Write(end, Asm.At(64, end, a => a.@out(DonePort, al)));
        _partition.NotifyDeviceWrite(0, RamSize);
        _vp.SetState(_start);

        var io = new IoStepper(_vp); // stops the processor right after the OUT to DonePort
        var exit = _vp.Run(io);
        if (exit.Kind != ExitKind.Cancelled || io.All is not [{ IsPort: true, IsWrite: true, Address: DonePort }])
            throw new InvalidOperationException($"{Backend}: unexpected exit {exit} after accesses [{string.Join(", ", io.All)}] at rip {_vp.GetState().Rip:X}");

        var results = new SequenceResult[n];
        for (int i = 0; i < n; i++)
        {
            ulong output = Outputs + (ulong)i * RecordSize;
            var r = new SequenceResult
            {
                Flags = _memory.Read<ulong>(output + FlagsAt),
                Vector = (int)_memory.Read<long>(output + VectorAt),
                ErrorCode = _memory.Read<ulong>(output + ErrorAt),
            };
            if (r.Vector != SequenceResult.NoFault)
            {
                ulong rip = _memory.Read<ulong>(output + RipAt);
                // An exception outside the sequence (in the storer, say) means the sequence left a state the harness
                // cannot run on from: reported as vector + HarnessFault, so it is compared and reduced like any result.
                if (rip < seqStart[i] || rip >= CodeBase + (ulong)(i + 1) * SlotSize) r.Vector += HarnessFault;
                r.FaultOffset = rip - seqStart[i];
                if (r.Vector == 14) r.Cr2 = _memory.Read<ulong>(output + Cr2At);
            }
            for (int g = 0; g < 16; g++) r.Regs[g] = _memory.Read<ulong>(output + (ulong)g * 8);
            _memory.Read(output + FxAt, r.Fx);
            _memory.Read(DataOf(i), r.Data);
            results[i] = r;
        }
        return results;
    }

    private static void Loader(Assembler a, int i)
    {
        ulong input = Inputs + (ulong)i * RecordSize;
        a.mov(__qword_ptr[Current], i);
        a.mov(rsp, HarnessStack); // RFLAGS go through the harness's stack: the data page holds only what the sequence wrote
        a.fxrstor64(__[input + FxAt]);
        a.push(__qword_ptr[input + FlagsAt]);
        a.popfq();
        a.mov(rsp, DataOf(i) + SequenceCase.DataSize);
        foreach (var (r, n) in Gprs) if (n != 4) a.mov(r, __qword_ptr[input + (ulong)n * 8]);
        a.mov(rbp, DataOf(i));
    }

    private static void Storer(Assembler a, int i)
    {
        ulong output = Outputs + (ulong)i * RecordSize;
        foreach (var (r, n) in Gprs) a.mov(__qword_ptr[output + (ulong)n * 8], r);
        a.mov(rsp, HarnessStack);
        a.pushfq();
        a.pop(__qword_ptr[output + FlagsAt]);
        a.fxsave64(__[output + FxAt]);
        a.jmp(CodeBase + (ulong)(i + 1) * SlotSize);
    }

    private static readonly (AssemblerRegister64, int)[] Gprs =
    {
        (rax, 0), (rcx, 1), (rdx, 2), (rbx, 3), (rsp, 4), (rbp, 5), (rsi, 6), (rdi, 7),
        (r8, 8), (r9, 9), (r10, 10), (r11, 11), (r12, 12), (r13, 13), (r14, 14), (r15, 15),
    };

    private void WriteSystemTables()
    {
        _memory.Write(Pml4, Pdpt | 7);
        _memory.Write(Pdpt, Pd | 7);
        for (ulong i = 0; i < RamSize >> 21; i++)
        {
            ulong page = i << 21;
            if (page == UnmappedPage) continue;
            _memory.Write(Pd + i * 8, page | (page == ReadOnlyPage ? 0x85UL : 0x87UL)); // P (RW) US PS
        }
        _memory.Write(Gdt + 0x08, 0x00AF9B000000FFFFUL); // kernel code, 64-bit
        _memory.Write(Gdt + 0x10, 0x00CF93000000FFFFUL); // kernel data
        _memory.Write(Gdt + 0x18, 0x00CFF3000000FFFFUL); // user data
        _memory.Write(Gdt + 0x20, 0x00AFFB000000FFFFUL); // user code, 64-bit
        _memory.Write(Gdt + 0x28, 0x67 | (Tss & 0xFFFFFF) << 16 | 0x89UL << 40);
        _memory.Write(Tss + 4, KernelStack); // RSP0
        _memory.Write(Handler, Asm.At(64, Handler, ExceptionHandler));
        for (int v = 0; v < 32; v++)
        {
            ulong stub = Stubs + (ulong)v * 16;
            bool hasError = v is 8 or 10 or 11 or 12 or 13 or 14 or 17 or 21 or 29 or 30;
            _memory.Write(stub, Asm.At(64, stub, a =>
            {
                if (!hasError) a.push(0); // same frame shape for every vector
                a.push(v);
                a.jmp(Handler);
            }));
            ulong gate = (stub & 0xFFFF) | (ulong)KernelCode << 16 | 0x8EUL << 40 | ((stub >> 16) & 0xFFFF) << 48;
            _memory.Write(Idt + (ulong)v * 16, gate);
            _memory.Write(Idt + (ulong)v * 16 + 8, stub >> 32);
        }
    }

    /// <summary>CPL0: stores the state at the exception into the current case's output record and returns to the next slot.
    /// Stack on entry: vector, error code, then the frame (RIP, CS, RFLAGS, RSP, SS).</summary>
    private static void ExceptionHandler(Assembler a)
    {
        a.push(rax);
        a.mov(rax, __qword_ptr[Current]);
        a.shl(rax, 10); // * RecordSize
        a.add(rax, (int)Outputs);
        foreach (var (r, n) in Gprs) if (n is not (0 or 4)) a.mov(__qword_ptr[rax + n * 8], r);
        a.pop(rcx);
        a.mov(__qword_ptr[rax], rcx);
        (int from, int to)[] fields = { (40, 4 * 8), (32, FlagsAt), (0, VectorAt), (8, ErrorAt), (16, RipAt) };
        foreach (var (from, to) in fields) { a.mov(rcx, __qword_ptr[rsp + from]); a.mov(__qword_ptr[rax + to], rcx); }
        a.mov(rcx, cr2);
        a.mov(__qword_ptr[rax + Cr2At], rcx);
        a.fxsave64(__[rax + FxAt]);
        a.mov(rcx, __qword_ptr[Current]);
        a.inc(rcx);
        a.shl(rcx, 10); // * SlotSize
        a.add(rcx, (int)CodeBase);
        a.mov(__qword_ptr[rsp + 16], rcx);
        a.add(rsp, 16);
        a.iretq();
    }

    public void Dispose()
    {
        _vp.Dispose();
        _partition.Dispose();
        _memory.Dispose();
    }
}
