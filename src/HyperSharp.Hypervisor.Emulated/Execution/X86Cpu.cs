using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HyperSharp.Hypervisor.Emulated.Decoding;
using HyperSharp.Hypervisor.Emulated.Memory;
using HyperSharp.Hypervisor.Emulated.State;
using HyperSharp.Hypervisor.Emulated.Translation;

namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>GPR numbers in encoding order.</summary>
public enum Gpr { Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi, R8, R9, R10, R11, R12, R13, R14, R15 }

/// <summary>Segment register numbers in encoding order.</summary>
public enum Seg { Es, Cs, Ss, Ds, Fs, Gs }

/// <summary>Why <see cref="X86Cpu.Run"/> returned.</summary>
public enum CpuExitReason
{
    /// <summary>HLT with no deliverable interrupt: wait for one, inject it, run again.</summary>
    Halted,
    /// <summary><see cref="X86Cpu.RequestStop"/> was called.</summary>
    Stopped,
    /// <summary>An interrupt window was requested and interrupts can now be injected.</summary>
    InterruptWindow,
    /// <summary>Triple fault (or a fetch from outside RAM): the VMM resets or powers off the VM.</summary>
    Shutdown,
    /// <summary>The instruction budget given to Run was used up.</summary>
    InstructionLimit,
}

/// <summary>
/// One software x86-64 logical processor. Runs guest code from <see cref="PhysicalMemory"/> on the
/// calling thread until an exit; device accesses go synchronously to the <see cref="ICpuIoHandler"/>.
/// </summary>
/// <remarks>
/// Execution model: RIP is translated (soft TLB) to a guest-physical address; the block decoded from
/// there is found in a per-vCPU direct-mapped cache (virtual address + mode), else in the partition's
/// <see cref="CodeCache"/>, else decoded once by Iced and translated to <see cref="DecodedInstruction"/>s.
/// A block runs as a tight loop of indirect calls; faults are thrown as <see cref="GuestFault"/> with
/// RIP still at the faulting instruction (handlers write architectural state only after their last
/// possible fault) and delivered through the IDT between blocks.
/// </remarks>
public sealed unsafe class X86Cpu
{
    /// <summary>Registers, flags, segments, control/debug registers, MSRs, FPU/SSE: what the handlers read and write.</summary>
    internal ArchState Arch = new();

    /// <summary>RFLAGS, its arithmetic flags computed only when read (<see cref="LazyFlags"/>).</summary>
    /// <remarks>A field of its own, not a member of <see cref="Arch"/> reached through a ref property: a handler's
    /// <c>c.Flags.CF</c> then inlines exactly as the processor's own CF property did, leaving the JIT's inlining budget
    /// for large compiled blocks unchanged.</remarks>
    internal LazyFlags Flags = new();

    /// <summary>The architectural RFLAGS value.</summary>
    public ulong Rflags
    {
        get { Flags.Materialize(); return Flags.Rflags; }
        set
        {
            Flags.Write(value);
            _tlb.AccessKey = (_tlb.AccessKey & ~3UL) | PrivilegeKey(Mode.Cpl); // RFLAGS.AC turns alignment checking on or off
        }
    }

    /// <summary>POPF/IRET rules: IOPL changes only at CPL 0, IF only when CPL &lt;= IOPL; VM, VIP, VIF, RF kept.</summary>
    internal void WriteFlagsFromGuest(ulong v, ulong sizeMask)
    {
        ulong old = Rflags;
        ulong changeable = Rf.Status | Rf.TF | Rf.DF | Rf.NT | Rf.AC | Rf.ID;
        if (Mode.Cpl == 0) changeable |= Rf.IOPL;
        if (Mode.Cpl <= (int)((old >> 12) & 3)) changeable |= Rf.IF;
        changeable &= sizeMask;
        Rflags = (old & ~changeable) | (v & changeable);
    }

    /// <summary>The mode, CPL, address widths and segment bases derived from the registers (<see cref="ProcessorMode"/>).</summary>
    internal ProcessorMode Mode;

    public ulong Cr0 => Arch.Cr0;
    public ulong Cr2 { get => Arch.Cr2; set => Arch.Cr2 = value; }
    public ulong Cr3 => Arch.Cr3;
    public ulong Cr4 => Arch.Cr4;
    public ulong Efer => Arch.Efer;
    public int Cpl => Mode.Cpl;
    public int Bitness => Mode.Bitness;

    /// <summary>The TLB access key's privilege bits for accesses at <paramref name="cpl"/> (<see cref="ProcessorMode.PrivilegeKey"/>).</summary>
    internal ulong PrivilegeKey(int cpl) => ProcessorMode.PrivilegeKey(cpl, Arch.Cr0, Flags.Rflags);

    /// <summary>Recomputes the derived mode after CS, SS, CR0, CR4, EFER or RFLAGS.VM changed.</summary>
    internal void UpdateMode()
    {
        Mode.Update(Arch, Flags.Rflags);
        _tlb.AccessKey = (_tlb.AccessKey & ~3UL) | PrivilegeKey(Mode.Cpl);
    }

    // One reusable exception object: faults are frequent enough (demand paging) that allocating each
    // would show, and the delivery code copies the fields out before anything can throw again.
    private readonly GuestFault _fault = new();

    /// <summary>The reused <see cref="GuestFault"/> set to <paramref name="vector"/> and <paramref name="errorCode"/>, to throw.</summary>
    internal GuestFault Fault(int vector, uint errorCode = 0)
    {
        _fault.Vector = vector;
        _fault.ErrorCode = errorCode;
        return _fault;
    }

    /// <summary>#GP(0) unless at CPL 0: the check of every privileged instruction.</summary>
    internal void RequireCpl0() { if (Mode.Cpl != 0) throw Fault(Vec.GP, 0); }

    /// <summary>The handler of an instruction that is invalid or not implemented: #UD.</summary>
    internal static int RaiseUd(X86Cpu c, ref DecodedInstruction d) => throw c.Fault(Vec.UD);

    /// <summary>What an event carries from detection to delivery (<see cref="ExceptionDelivery"/>).</summary>
    internal PendingDelivery _delivery;

    /// <summary>The x87 register stack (<see cref="X87Stack"/>): the x87/MMX registers and control words.</summary>
    internal X87Stack _x87 = new();

    /// <summary>The SSE registers (<see cref="SseRegisters"/>): XMM0-15 and MXCSR.</summary>
    internal SseRegisters Sse = new();

    /// <summary>#UD without CR4.OSFXSR or with CR0.EM, #NM with CR0.TS: checked by every SSE handler.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void CheckSse()
    {
        if (((Arch.Cr0 & (ControlRegisters.Cr0EM | ControlRegisters.Cr0TS)) | (~Arch.Cr4 & ControlRegisters.Cr4OSFXSR)) != 0) SseUnavailable();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SseUnavailable()
    {
        if ((Arch.Cr0 & ControlRegisters.Cr0EM) != 0 || (Arch.Cr4 & ControlRegisters.Cr4OSFXSR) == 0) throw Fault(Vec.UD);
        throw Fault(Vec.NM);
    }

    /// <summary>Applies an SSE instruction's exception flags to MXCSR (<see cref="SseRegisters.CommitExceptions"/>) and
    /// faults when one is unmasked: #XM with CR4.OSXMMEXCPT, else #UD.</summary>
    internal void CommitSimdExceptions(in FpStatus st)
    {
        if (Sse.CommitExceptions(st)) throw Fault((Arch.Cr4 & ControlRegisters.Cr4OSXMMEXCPT) != 0 ? Vec.XM : Vec.UD);
    }

    /// <summary>Read, write and fetch translations of this processor (see <see cref="SoftTlb"/>).</summary>
    internal SoftTlb _tlb = new();

    /// <summary>Finds (or decodes) the block at CS:RIP (see <see cref="BlockLookup"/>).</summary>
    internal BlockLookup _blocks = new();

    /// <summary>Drops the TLBs and the block lookup cache (CR3/CR0/CR4/EFER writes, breakpoint changes): one generation
    /// increment each.</summary>
    internal void FlushTlb()
    {
        _blocks.Flush(clear: _tlb.NextGeneration());
    }

    /// <summary>INVLPG: drops the page in every TLB regardless of global.</summary>
    internal void FlushTlbPage(ulong lin)
    {
        _tlb.DropPage(lin);
        _blocks.Flush(clear: false); // the block lookup is keyed by linear address: drop it all (INVLPG is rare)
    }

    internal readonly PhysicalMemory _mem;
    internal readonly ICpuIoHandler _io;
    internal readonly CodeCache _code;

    /// <summary>Instructions retired since creation (a faulting instruction is not counted; INT n is).</summary>
    public ulong InstructionCount;

    /// <summary>A processor on <paramref name="memory"/> presenting <paramref name="vendor"/> (CPUID and every undefined
    /// result); every processor on one memory presents the same vendor, since they share decoded code. The processors of
    /// one partition share its <paramref name="clock"/> (a processor on its own gets a clock of its own).</summary>
    public X86Cpu(PhysicalMemory memory, ICpuIoHandler? io = null, ProcessorVendor vendor = ProcessorVendor.Intel, TimestampClock? clock = null)
    {
        _mem = memory;
        _io = io ?? NullIoHandler.Instance;
        _code = memory.Code;
        _clock = clock ?? new TimestampClock();
        Model = CpuModel.For(vendor);
        memory.Register(this);

        Reset();
    }

    /// <summary>What CPUID presents, and whose undefined results the handlers produce.</summary>
    internal readonly CpuModel Model;

    /// <summary>This processor's initial APIC ID (CPUID leaf 1 EBX[31:24]).</summary>
    public uint ApicId { get; set; }

    /// <summary>The vendor this processor presents.</summary>
    public ProcessorVendor Vendor => Model.Vendor;

    /// <summary>RAX..R15 and RIP as a ref (index 16 is RIP, 17 is the constant zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref ulong R(int i) => ref Unsafe.Add(ref Unsafe.As<ArchState.RegFile, ulong>(ref Arch.Gpr), i);

    public ulong this[Gpr reg]
    {
        get => R((int)reg);
        set => R((int)reg) = value;
    }

    public ulong Rip
    {
        get => R(DecodedInstruction.RipIndex);
        set => R(DecodedInstruction.RipIndex) = value;
    }

    public SegmentRegister GetSegment(Seg s) => Arch.Seg[(int)s];
    public void SetSegment(Seg s, SegmentRegister value) { Arch.Seg[(int)s] = value; UpdateMode(); }

    // ---- operands and the stack: what every handler uses to reach its operands ----

    /// <summary>Effective address (offset within the segment) of the memory operand.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Ea(ref DecodedInstruction d) => (R(d.Base) + (R(d.Index) << d.Scale) + d.Disp) & d.AddrMask;

    /// <summary>Linear address of the memory operand.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Lin(ref DecodedInstruction d) => (Mode.SegBase(d.Seg) + Ea(ref d)) & Mode.LinMask;

    /// <summary>Linear address of segment:offset (string instructions, stack).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Lin(int seg, ulong offset) => (Mode.SegBase(seg) + offset) & Mode.LinMask;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool IsMem(ref DecodedInstruction d) => (d.Flags & InstrFlags.MemOperand) != 0;

    /// <summary>Operand 0 (register in Reg, or the memory operand).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong ReadOp0<TS>(ref DecodedInstruction d) where TS : struct, ISize
        => IsMem(ref d) ? TS.Load(this, Lin(ref d)) : TS.GetReg(this, d.Reg, d.RegShift);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void WriteOp0<TS>(ref DecodedInstruction d, ulong v) where TS : struct, ISize
    {
        if (IsMem(ref d)) TS.Store(this, Lin(ref d), v);
        else TS.SetReg(this, d.Reg, d.RegShift, v);
    }

    /// <summary>Operand 1 (register in Rm, or the memory operand).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong ReadOp1<TS>(ref DecodedInstruction d) where TS : struct, ISize
        => IsMem(ref d) ? TS.Load(this, Lin(ref d)) : TS.GetReg(this, d.Rm, d.RmShift);

    // ---- stack ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Push<TS>(ulong v) where TS : struct, ISize
    {
        ulong sp = R(4);
        ulong nsp = (sp & ~Mode.StackMask) | ((sp - (ulong)TS.Bytes) & Mode.StackMask);
        TS.Store(this, Lin((int)Seg.Ss, nsp & Mode.StackMask), v);
        R(4) = nsp;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Pop<TS>() where TS : struct, ISize
    {
        ulong sp = R(4);
        ulong v = TS.Load(this, Lin((int)Seg.Ss, sp & Mode.StackMask));
        R(4) = (sp & ~Mode.StackMask) | ((sp + (ulong)TS.Bytes) & Mode.StackMask);
        return v;
    }

    /// <summary>Reads the stack at RSP + offset without moving RSP (for pops that must not commit yet).</summary>
    internal ulong PeekStack<TS>(ulong offset) where TS : struct, ISize
        => TS.Load(this, Lin((int)Seg.Ss, (R(4) + offset) & Mode.StackMask));

    internal void AdjustSp(ulong delta) => R(4) = (R(4) & ~Mode.StackMask) | ((R(4) + delta) & Mode.StackMask);

    internal void Push16(ushort v) => Push<S16>(v);

    /// <summary>A snapshot of the complete architectural state. Call only while the vCPU is not running.</summary>
    public CpuState GetState()
    {
        var s = new CpuState();
        Arch.SaveTo(s);
        s.Rflags = Rflags;
        s.Tsc = Tsc;
        s.Fpu = _x87.Save();
        Sse.SaveTo(s.Fpu);
        lock (_eventLock) { s.PendingInterrupt = _pendingVector; s.NmiPending = _nmiPending; s.NmiBlocked = _nmiBlocked; }
        s.InterruptShadow = _shadow;
        s.Halted = _halted;
        return s;
    }

    /// <summary>
    /// Loads a complete architectural state. Call only while the vCPU is not running. The TSC is one clock for the
    /// partition, so setting this processor's TSC sets that clock (to the TSC minus this processor's TSC_ADJUST): after a
    /// restore every processor continues from the count it was saved at, still equal to the others'.
    /// </summary>
    public void SetState(CpuState s)
    {
        Arch.LoadFrom(s);
        Rflags = s.Rflags;
        _clock.SetCount((long)s.Tsc - s.TscAdjust);
        _x87.Load(s.Fpu);
        Sse.LoadFrom(s.Fpu);
        lock (_eventLock)
        {
            _pendingVector = s.PendingInterrupt; _nmiPending = s.NmiPending; _nmiBlocked = s.NmiBlocked;
            RecomputeAttention();
        }
        _shadow = s.InterruptShadow;
        _halted = s.Halted;
        UpdateMode();
        UpdateBreakpoints();
    }

    /// <summary>Power-on/INIT state: real mode at F000:FFF0 (reset vector FFFFFFF0).</summary>
    public void Reset()
    {
        for (int i = 0; i < 18; i++) R(i) = 0;
        Rflags = Rf.Fixed1;
        for (int i = 0; i < 6; i++) Arch.Seg[i] = SegmentRegister.RealMode(0);
        Arch.Seg[(int)Seg.Cs] = new SegmentRegister(0xF000, 0xFFFF0000, 0xFFFF, 0x9B);
        R(DecodedInstruction.RipIndex) = 0xFFF0;
        Arch.Ldtr = new SegmentRegister(0, 0, 0xFFFF, 0x82);
        Arch.Tr = new SegmentRegister(0, 0, 0xFFFF, 0x8B);
        Arch.Gdtr = new DescriptorTableRegister(0, 0xFFFF);
        Arch.Idtr = new DescriptorTableRegister(0, 0xFFFF);
        Arch.Cr0 = 0x60000010; Arch.Cr2 = 0; Arch.Cr3 = 0; Arch.Cr4 = 0; Arch.Cr8 = 0; Arch.Efer = 0;
        Array.Clear(Arch.Dr); Arch.Dr[6] = 0xFFFF0FF0; Arch.Dr[7] = 0x400;
        Arch.ApicBase = 0xFEE00900; // BSP, enabled, default base
        Arch.Pat = 0x0007040600070406;
        Arch.MiscEnable = 1; // fast strings
        _x87.Regs = new FpuState();
        Sse.Reset();
        _halted = false; _shadow = false; _ssLoaded = false; _deferredDebugTraps = 0; _pendingVector = -1; _nmiPending = false;
        UpdateMode();
        UpdateBreakpoints(); // (also flushes the TLBs)
    }

    // ---- the run loop ----

    private volatile int _attention;          // nonzero: look at stop/interrupt requests between blocks
    /// <summary>A stop, interrupt or other event waits for the run loop (long instructions yield to it).</summary>
    internal bool AttentionPending => _attention != 0;
    private volatile bool _stopRequested;
    internal bool _halted, _shadow, _windowRequested;
    /// <summary>Set by MOV SS / POP SS: the debug traps of that instruction wait for the next one (<see cref="_deferredDebugTraps"/>, DR6 bits).</summary>
    internal bool _ssLoaded;
    private ulong _deferredDebugTraps;
    private int _pendingVector = -1;
    private bool _nmiPending;
    internal bool _nmiBlocked;
    private readonly Lock _eventLock = new();

    /// <summary>Runs guest code until an exit. Call from the vCPU's own thread only.</summary>
    public CpuExitReason Run(ulong maxInstructions = ulong.MaxValue)
    {
        RunThreadId = Environment.CurrentManagedThreadId;
        _running = true;
        try { return RunLoop(maxInstructions); }
        finally { _running = false; }
    }

    /// <summary>The thread Run was last called on (PhysicalMemory must not wait for the thread it runs on).</summary>
    internal int RunThreadId;

    private volatile bool _running;
    private long _boundaryEpoch;
    /// <summary>Counts block boundaries; PhysicalMemory waits on it to know in-flight stores are done.</summary>
    internal long BoundaryEpoch => Volatile.Read(ref _boundaryEpoch);
    internal bool IsRunning => _running;

    private CpuExitReason RunLoop(ulong maxInstructions)
    {
        ulong limit = maxInstructions == ulong.MaxValue ? ulong.MaxValue : InstructionCount + maxInstructions;
        while (true)
        {
            if (_attention != 0 || _shadow || _halted)
            {
                var exit = HandleEvents();
                if (exit.HasValue) return exit.Value;
            }
            if (InstructionCount >= limit) return CpuExitReason.InstructionLimit;
            try
            {
                if ((Flags.Rflags & Rf.TF) != 0 || _breakpoints.Active || _deferredDebugTraps != 0) StepWithTrap();
                else RunBlocks(limit);
                if (_exitRequest != 0)
                {
                    var why = (CpuExitReason)(_exitRequest - 1);
                    _exitRequest = 0;
                    return why;
                }
            }
            catch (GuestFault f)
            {
                if (!ExceptionDelivery.DeliverFault(this, f)) return CpuExitReason.Shutdown;
            }
        }
    }

    /// <summary>Called (when set) for each instruction the translator does not implement, with its linear address and text.</summary>
    public Action<ulong, string>? UnsupportedInstruction { get; set; }

    /// <summary>
    /// Runs of a block after which it is compiled to IL, quick tier (see Translation/); 0 keeps this processor
    /// in the interpreter, 1 compiles before the first run. Starts at <see cref="TierOptions.Threshold"/>.
    /// </summary>
    public int TranslationThreshold { get; set; } = TierOptions.Threshold;

    /// <summary>
    /// Runs of quick-compiled code after which the block is compiled again, optimized; 0 = never, 1 = compile
    /// optimized right away. Starts at <see cref="TierOptions.OptimizeThreshold"/>.
    /// </summary>
    public int OptimizeThreshold { get; set; } = TierOptions.OptimizeThreshold;

    /// <summary>
    /// Executes blocks back to back until something needs the run loop's attention (a stop or interrupt
    /// request, an exit, HLT, an interrupt shadow, the instruction budget). Going from one block to the
    /// next costs one direct-mapped cache probe (<see cref="BlockLookup"/>); faults propagate to Run, which delivers them. A block runs
    /// compiled once it is hot, else through the interpreter's loop of indirect calls.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunBlocks(ulong limit)
    {
        ref ulong rip = ref R(DecodedInstruction.RipIndex);
        ulong n = 0;
        TranslatedBlock? compiled = null; // the compiled block running now, for the retired count at a fault
        ulong entryRip = 0;
        try
        {
            while (true)
            {
                CodeBlock? b = BlockLookup.Find(this);
                if (b == null) { _exitRequest = (int)CpuExitReason.Shutdown + 1; return; }
                var t = b.Translated ?? BlockTiering.Heat(this, b);
                if (t != null)
                {
                    if (!t.Optimized && ++t.Runs == OptimizeThreshold && OptimizeThreshold != 0) BlockTiering.Optimize(this, b);
                    compiled = t;
                    entryRip = rip;
                    n += (uint)t.Run(this, b);
                    compiled = null; // (also keeps t, and with it the records its code points at, alive until here)
                }
                else
                {
                    ref DecodedInstruction d = ref MemoryMarshal.GetArrayDataReference(b.Instructions);
                    while (true)
                    {
                        n++;
                        if (d.Exec(this, ref d) != 0) break;
                        rip += d.Len;
                        d = ref Unsafe.Add(ref d, 1);
                    }
                }
                Volatile.Write(ref _boundaryEpoch, _boundaryEpoch + 1);
                if ((_attention | _exitRequest) != 0 || _shadow || _halted || (Flags.Rflags & Rf.TF) != 0 || _breakpoints.Active || InstructionCount + n >= limit) return;
            }
        }
        catch (GuestFault)
        {
            // The faulting instruction did not retire: the interpreter counted it, compiled code counts by RIP.
            if (compiled != null) n += (ulong)compiled.RetiredBefore(rip - entryRip);
            else n--;
            throw;
        }
        finally
        {
            InstructionCount += n;
        }
    }

    /// <summary>Set by a handler that must end Run (reason + 1); checked when the block ends.</summary>
    internal int _exitRequest;

    /// <summary>
    /// Single-step (RFLAGS.TF set when the instruction starts): run one instruction, then raise the #DB trap
    /// with DR6.BS. A faulting instruction delivers its fault instead (thrown before the trap).
    /// </summary>
    private void StepWithTrap()
    {
        CodeBlock? b = BlockLookup.Find(this);
        if (b == null) { _exitRequest = (int)CpuExitReason.Shutdown + 1; return; }
        ref DecodedInstruction d = ref b.Instructions[0];
        if (!b.Valid) return; // invalidated meanwhile: look up again
        if (_breakpoints.Active)
        {
            int hit = Breakpoints.ExecuteAt(Arch.Dr, Flags.Rflags, (Mode.SegBase((int)Seg.Cs) + Rip) & Mode.LinMask);
            if (hit >= 0)
            {
                // Instruction breakpoint: a fault, delivered before the instruction runs.
                Arch.Dr[6] = (Arch.Dr[6] & ~0xFUL) | (1UL << hit);
                ExceptionDelivery.Deliver(this, Vec.DB, 0, false, EventKind.Exception);
                return;
            }
        }
        bool tf = (Flags.Rflags & Rf.TF) != 0, rf = (Flags.Rflags & Rf.RF) != 0;
        _breakpoints.Pending = 0;
        _ssLoaded = false;
        if (d.Exec(this, ref d) == 0) Rip += d.Len;
        InstructionCount++; // after the handler: a faulting instruction does not count
        if (rf) Flags.Rflags &= ~Rf.RF; // RF suppressed the breakpoint of this one instruction only
        ulong traps = _deferredDebugTraps | _breakpoints.Pending | (tf ? 0x4000UL : 0);
        // MOV SS / POP SS hold back single-step and data-breakpoint traps until the next instruction completes
        // (SDM Vol. 3, 6.8.3): they are delivered together after it.
        if (_ssLoaded) { _deferredDebugTraps = traps; return; }
        _deferredDebugTraps = 0;
        if (traps == 0) return;
        Arch.Dr[6] = (Arch.Dr[6] & ~0xFUL) | traps;
        ExceptionDelivery.Deliver(this, Vec.DB, 0, false, EventKind.Exception);
    }

    /// <summary>DR0-3 breakpoints as the run loop and the memory slow path check them.</summary>
    internal Breakpoints _breakpoints;

    /// <summary>Recomputes the breakpoint state after DR0-3/DR7 changed; flushes the TLBs, since pages with a data
    /// breakpoint must not stay in them.</summary>
    internal void UpdateBreakpoints()
    {
        _breakpoints.Update(Arch.Dr);
        FlushTlb();
    }

    /// <summary>Between blocks: stop requests, interrupt delivery, HLT wake-up, interrupt windows.</summary>
    private CpuExitReason? HandleEvents()
    {
        if (_stopRequested) { _stopRequested = false; RecomputeAttention(); return CpuExitReason.Stopped; }
        if (_shadow && !_halted) { _shadow = false; return null; } // the instruction after STI/MOV SS runs first
        _shadow = false;
        bool ifSet = (Flags.Rflags & Rf.IF) != 0;
        if (_intrLine && ifSet && InterruptController != null && !(_nmiPending && !_nmiBlocked))
        {
            // Outside our lock: the controller takes its own lock and may call SetInterruptLine.
            int v = InterruptController.Acknowledge();
            _halted = false;
            if (v >= 0)
            {
                DeliverExternal(v);
                return null;
            }
        }
        lock (_eventLock)
        {
            if (_nmiPending && !_nmiBlocked)
            {
                // NMIs are blocked from delivery until the next IRET (SDM 6.7.1).
                _nmiPending = false; _halted = false; _nmiBlocked = true;
                RecomputeAttention();
                DeliverExternal(2);
                return null;
            }
            if (_pendingVector >= 0 && ifSet)
            {
                int v = _pendingVector;
                _pendingVector = -1; _halted = false;
                RecomputeAttention();
                DeliverExternal(v);
                return null;
            }
        }
        if (_windowRequested && ifSet) { _windowRequested = false; RecomputeAttention(); return CpuExitReason.InterruptWindow; }
        if (_halted) return CpuExitReason.Halted;
        return null;
    }

    private void DeliverExternal(int vector)
    {
        try { ExceptionDelivery.Deliver(this, vector, 0, false, EventKind.External); }
        catch (GuestFault f) { if (!ExceptionDelivery.DeliverFault(this, f)) _exitRequest = (int)CpuExitReason.Shutdown + 1; }
    }

    private void RecomputeAttention()
        => _attention = (_stopRequested || (_nmiPending && !_nmiBlocked) || _pendingVector >= 0 || _windowRequested || _intrLine) ? 1 : 0;

    private volatile bool _intrLine;

    /// <summary>The controller <see cref="SetInterruptLine"/> acknowledges through.</summary>
    public IInterruptController? InterruptController { get; set; }

    /// <summary>
    /// Asserts or deasserts the INTR line (level-triggered, thread-safe). While asserted, the CPU acknowledges
    /// through <see cref="InterruptController"/> at the first instruction boundary with IF = 1 and no shadow,
    /// and HLT wakes up. While IF = 0 the request simply waits.
    /// </summary>
    public void SetInterruptLine(bool asserted)
    {
        lock (_eventLock) { _intrLine = asserted; RecomputeAttention(); }
    }

    /// <summary>Makes Run return <see cref="CpuExitReason.Stopped"/> soon (at the next block boundary). Thread-safe.</summary>
    public void RequestStop()
    {
        _stopRequested = true;
        _attention = 1;
    }

    /// <summary>
    /// Queues external interrupt <paramref name="vector"/> (the LAPIC's job is to call this only when
    /// <see cref="InterruptWindowOpen"/> or after an InterruptWindow exit). Thread-safe; one vector is held.
    /// Returns false when another vector is already pending.
    /// </summary>
    public bool InjectInterrupt(int vector)
    {
        lock (_eventLock)
        {
            if (_pendingVector >= 0) return false;
            _pendingVector = vector;
            _attention = 1;
            return true;
        }
    }

    /// <summary>IRET ends NMI blocking; a queued NMI then needs the run loop's attention.</summary>
    internal void UnblockNmi()
    {
        lock (_eventLock) { _nmiBlocked = false; RecomputeAttention(); }
    }

    /// <summary>Queues an NMI. Thread-safe.</summary>
    public void InjectNmi()
    {
        lock (_eventLock) { _nmiPending = true; _attention = 1; }
    }

    /// <summary>True when an external interrupt injected now would be delivered before the next instruction.</summary>
    public bool InterruptWindowOpen => (Flags.Rflags & Rf.IF) != 0 && !_shadow && _pendingVector < 0;

    /// <summary>Asks Run to return <see cref="CpuExitReason.InterruptWindow"/> once IF=1 and no shadow.</summary>
    public void RequestInterruptWindow()
    {
        lock (_eventLock) { _windowRequested = true; _attention = 1; }
    }

    public bool IsHalted => _halted;
    /// <summary>An instruction is asking to leave Run once the current block ends.</summary>
    internal void RequestExit(CpuExitReason why) => _exitRequest = (int)why + 1;

    // ---- the timestamp counter and the MSRs (ModelSpecificRegisters) ----

    private readonly TimestampClock _clock;

    /// <summary>
    /// The local APIC's view of IA32_TSC_DEADLINE (its timer in TSC-deadline mode owns the deadline); when
    /// unset, the MSR is plain storage.
    /// </summary>
    public Func<ulong>? TscDeadlineRead { get; set; }
    public Action<ulong>? TscDeadlineWrite { get; set; }

    /// <summary>Guest TSC rate. The TSC counts host monotonic time at this rate (invariant TSC).</summary>
    public const long TscHz = 1_000_000_000;

    /// <summary>This processor's TSC: the partition's clock plus IA32_TSC_ADJUST. Setting it, as a guest's WRMSR does,
    /// moves TSC_ADJUST by the same amount (SDM 17.17.3); the other processors' TSCs do not move.</summary>
    public ulong Tsc
    {
        get => (ulong)(_clock.Count + Arch.TscAdjust);
        set => Arch.TscAdjust = (long)value - _clock.Count;
    }

    /// <summary>Power-on: IA32_TSC_ADJUST 0 (an INIT keeps it).</summary>
    internal void ResetTimestamp() => Arch.TscAdjust = 0;

    /// <summary>RDMSR semantics; false for an MSR this model does not have (the instruction raises #GP(0)).</summary>
    public bool TryReadMsr(uint msr, out ulong value) => ModelSpecificRegisters.TryRead(this, msr, out value);

    /// <summary>WRMSR semantics; false when the MSR does not exist or the value is invalid (#GP(0)).</summary>
    public bool TryWriteMsr(uint msr, ulong v) => ModelSpecificRegisters.TryWrite(this, msr, v);
}
