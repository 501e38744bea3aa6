namespace HyperSharp.Hypervisor.State;

/// <summary>
/// The complete architectural state of one x86-64 processor, independent of any backend: what saved state,
/// checkpoints and live migration move. Serialize it with <see cref="VirtualProcessorStateSerializer"/>.
/// </summary>
public sealed record VirtualProcessorState
{
    /// <summary>RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8-R15 in instruction-encoding order (index with <see cref="GeneralRegister"/>).</summary>
    public ulong[] GeneralRegisters { get; init; } = new ulong[16];
    /// <summary>Instruction pointer.</summary>
    public ulong Rip { get; init; }
    /// <summary>Flags register (bit 1 always set).</summary>
    public ulong Rflags { get; init; } = 2;

    /// <summary>ES.</summary>
    public SegmentRegister Es { get; init; }
    /// <summary>CS.</summary>
    public SegmentRegister Cs { get; init; }
    /// <summary>SS.</summary>
    public SegmentRegister Ss { get; init; }
    /// <summary>DS.</summary>
    public SegmentRegister Ds { get; init; }
    /// <summary>FS (base is also MSR FS_BASE).</summary>
    public SegmentRegister Fs { get; init; }
    /// <summary>GS (base is also MSR GS_BASE).</summary>
    public SegmentRegister Gs { get; init; }
    /// <summary>LDTR.</summary>
    public SegmentRegister Ldtr { get; init; }
    /// <summary>Task register.</summary>
    public SegmentRegister Tr { get; init; }
    /// <summary>GDTR.</summary>
    public TableRegister Gdtr { get; init; }
    /// <summary>IDTR.</summary>
    public TableRegister Idtr { get; init; }

    /// <summary>CR0.</summary>
    public ulong Cr0 { get; init; }
    /// <summary>CR2 (last page-fault address).</summary>
    public ulong Cr2 { get; init; }
    /// <summary>CR3.</summary>
    public ulong Cr3 { get; init; }
    /// <summary>CR4.</summary>
    public ulong Cr4 { get; init; }
    /// <summary>CR8 (task priority).</summary>
    public ulong Cr8 { get; init; }
    /// <summary>IA32_EFER.</summary>
    public ulong Efer { get; init; }
    /// <summary>IA32_APIC_BASE.</summary>
    public ulong ApicBase { get; init; }
    /// <summary>XCR0 (enabled XSAVE features); 1 when XSAVE is unused.</summary>
    public ulong Xcr0 { get; init; } = 1;

    /// <summary>DR0-DR3 breakpoint addresses.</summary>
    public ulong[] DebugAddress { get; init; } = new ulong[4];
    /// <summary>DR6.</summary>
    public ulong Dr6 { get; init; }
    /// <summary>DR7.</summary>
    public ulong Dr7 { get; init; }

    /// <summary>Model-specific registers other than EFER, APIC_BASE and TSC (which have their own fields).</summary>
    public MsrEntry[] Msrs { get; init; } = [];

    /// <summary>x87/SSE state as the 512-byte FXSAVE image.</summary>
    public byte[] FxSave { get; init; } = new byte[512];
    /// <summary>
    /// The XSAVE area (standard, non-compacted format) when the backend has one; empty otherwise. When present it is
    /// authoritative: its first 512 bytes are the FXSAVE image, and a backend with XSAVE restores from it, not from <see cref="FxSave"/>.
    /// </summary>
    public byte[] XSave { get; init; } = [];

    /// <summary>Exceptions, interrupts and NMIs between instructions, and the interrupt shadow.</summary>
    public PendingEvents Events { get; init; }
    /// <summary>Multiprocessor run state (halted, waiting for SIPI, ...).</summary>
    public ProcessorRunState RunState { get; init; }

    /// <summary>The local APIC register page (first 1 KiB, registers at their xAPIC MMIO offsets); empty without an in-backend APIC.</summary>
    public byte[] LocalApic { get; init; } = [];

    /// <summary>Time-stamp counter value.</summary>
    public ulong Tsc { get; init; }

    /// <summary>
    /// The <see cref="VirtualProcessorStateSerializer"/> version this state was read from (the current one for a
    /// state taken from a processor): a backend whose own section (<see cref="LocalApic"/>) changed encoding
    /// between versions reads an older one through it.
    /// </summary>
    public ushort EncodingVersion { get; init; } = VirtualProcessorStateSerializer.CurrentVersion;

    /// <summary>Reads a general register by name.</summary>
    public ulong this[GeneralRegister register] => GeneralRegisters[(int)register];
}

/// <summary>General register numbers in instruction-encoding order.</summary>
public enum GeneralRegister
{
#pragma warning disable CS1591 // the register names are their own documentation
    Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi, R8, R9, R10, R11, R12, R13, R14, R15,
#pragma warning restore CS1591
}
