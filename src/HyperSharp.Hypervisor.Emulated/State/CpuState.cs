namespace HyperSharp.Hypervisor.Emulated.State;

/// <summary>
/// The complete architectural state of one emulated processor, as a plain copyable snapshot.
/// The CPU's live fields are laid out for speed; <see cref="Execution.X86Cpu.GetState"/> and
/// <see cref="Execution.X86Cpu.SetState"/> convert. The backend adapter maps this to the shared
/// backend-neutral record (and versions it for saved state); this type is the emulator's own.
/// </summary>
public sealed class CpuState
{
    /// <summary>RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15 in encoding order.</summary>
    public ulong[] Gpr { get; set; } = new ulong[16];
    public ulong Rip { get; set; }
    public ulong Rflags { get; set; } = 2;

    /// <summary>ES, CS, SS, DS, FS, GS in encoding order.</summary>
    public SegmentRegister[] Segments { get; set; } = new SegmentRegister[6];
    public SegmentRegister Ldtr { get; set; }
    public SegmentRegister Tr { get; set; }
    public DescriptorTableRegister Gdtr { get; set; }
    public DescriptorTableRegister Idtr { get; set; }

    public ulong Cr0 { get; set; }
    public ulong Cr2 { get; set; }
    public ulong Cr3 { get; set; }
    public ulong Cr4 { get; set; }
    public ulong Cr8 { get; set; }
    public ulong Efer { get; set; }
    /// <summary>DR0..DR7 (DR4/DR5 alias DR6/DR7 and are kept as zero).</summary>
    public ulong[] Dr { get; set; } = new ulong[8];

    public ulong Star { get; set; }
    public ulong Lstar { get; set; }
    public ulong Cstar { get; set; }
    public ulong Sfmask { get; set; }
    public ulong KernelGsBase { get; set; }
    public ulong SysenterCs { get; set; }
    public ulong SysenterEsp { get; set; }
    public ulong SysenterEip { get; set; }
    public ulong Tsc { get; set; }
    /// <summary>IA32_TSC_ADJUST.</summary>
    public long TscAdjust { get; set; }
    public ulong TscAux { get; set; }
    public ulong TscDeadline { get; set; }
    public ulong ApicBase { get; set; }
    public ulong Pat { get; set; }
    public ulong MiscEnable { get; set; }
    /// <summary>MTRRs and any other MSR the CPU stores without interpreting, keyed by MSR index.</summary>
    public Dictionary<uint, ulong> OtherMsrs { get; set; } = new();

    public FpuState Fpu { get; set; } = new();

    /// <summary>Pending external interrupt vector, or -1.</summary>
    public int PendingInterrupt { get; set; } = -1;
    public bool NmiPending { get; set; }
    /// <summary>An NMI handler is running (NMIs are held until its IRET).</summary>
    public bool NmiBlocked { get; set; }
    /// <summary>True for one instruction after STI / MOV SS: interrupts are held off.</summary>
    public bool InterruptShadow { get; set; }
    public bool Halted { get; set; }
}

/// <summary>x87, MMX and SSE state in the FXSAVE image's terms.</summary>
public sealed class FpuState
{
    public ushort Fcw { get; set; } = 0x037F;
    public ushort Fsw { get; set; }
    /// <summary>Full 16-bit tag word (2 bits per register, 3 = empty).</summary>
    public ushort Ftw { get; set; } = 0xFFFF;
    public ushort Fop { get; set; }
    public ulong Fip { get; set; }
    public ulong Fdp { get; set; }
    public uint Mxcsr { get; set; } = 0x1F80;
    /// <summary>Physical registers R0..R7 (ST(i) is R((TOP + i) mod 8)) as 80-bit values in 16-byte slots (MMX aliases the low 64 bits).</summary>
    public UInt128[] St { get; set; } = new UInt128[8];
    public UInt128[] Xmm { get; set; } = new UInt128[16];
}
