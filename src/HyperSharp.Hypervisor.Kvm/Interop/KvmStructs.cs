using System.Runtime.InteropServices;

namespace HyperSharp.Hypervisor.Kvm.Interop;

// Layouts of the KVM uapi structures (x86-64), sizes checked against the kernel headers. Names follow the C fields.
#pragma warning disable CS0649 // fields are filled by the kernel

/// <summary>struct kvm_regs (144 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmRegs
{
    public ulong Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rsp, Rbp, R8, R9, R10, R11, R12, R13, R14, R15, Rip, Rflags;
}

/// <summary>struct kvm_segment (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmSegment
{
    public ulong Base;
    public uint Limit;
    public ushort Selector;
    public byte Type, Present, Dpl, Db, S, L, G, Avl, Unusable, Padding;
}

/// <summary>struct kvm_dtable (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmDtable
{
    public ulong Base;
    public ushort Limit;
    public ushort Pad0, Pad1, Pad2;
}

/// <summary>struct kvm_sregs (312 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmSregs
{
    public KvmSegment Cs, Ds, Es, Fs, Gs, Ss, Tr, Ldt;
    public KvmDtable Gdt, Idt;
    public ulong Cr0, Cr2, Cr3, Cr4, Cr8, Efer, ApicBase;
    public fixed ulong InterruptBitmap[4];
}

/// <summary>struct kvm_fpu (416 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmFpu
{
    public fixed byte Fpr[128];
    public ushort Fcw, Fsw;
    public byte Ftwx, Pad1;
    public ushort LastOpcode;
    public ulong LastIp, LastDp;
    public fixed byte Xmm[256];
    public uint Mxcsr, Pad2;
}

/// <summary>struct kvm_vcpu_events (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmVcpuEvents
{
    public byte ExceptionInjected, ExceptionNr, ExceptionHasErrorCode, ExceptionPending;
    public uint ExceptionErrorCode;
    public byte InterruptInjected, InterruptNr, InterruptSoft, InterruptShadow;
    public byte NmiInjected, NmiPending, NmiMasked, NmiPad;
    public uint SipiVector;
    public uint Flags;
    public byte SmiSmm, SmiPending, SmiInsideNmi, SmiLatchedInit;
    public byte TripleFaultPending;
    public fixed byte Reserved[26];
    public byte ExceptionHasPayload;
    public ulong ExceptionPayload;
}

/// <summary>struct kvm_debugregs (128 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmDebugRegs
{
    public fixed ulong Db[4];
    public ulong Dr6, Dr7, Flags;
    public fixed ulong Reserved[9];
}

/// <summary>struct kvm_xcrs (392 bytes): up to 16 (xcr, value) pairs.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmXcrs
{
    public uint NrXcrs, Flags;
    public fixed ulong Xcrs[32]; // 16 × { u32 xcr; u32 reserved; u64 value }
    public fixed ulong Padding[16];
}

/// <summary>struct kvm_userspace_memory_region (32 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmUserspaceMemoryRegion
{
    public uint Slot, Flags;
    public ulong GuestPhysAddr, MemorySize, UserspaceAddr;
}

/// <summary>struct kvm_dirty_log (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmDirtyLog
{
    public uint Slot, Padding;
    public nint DirtyBitmap;
}

/// <summary>struct kvm_irq_level (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmIrqLevel
{
    public uint Irq, Level;
}

/// <summary>struct kvm_irqfd (32 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmIrqfd
{
    public uint Fd, Gsi, Flags, ResampleFd;
    public fixed byte Pad[16];
}

/// <summary>struct kvm_ioeventfd (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmIoeventfd
{
    public ulong Datamatch, Addr;
    public uint Len;
    public int Fd;
    public uint Flags;
    public fixed byte Pad[36];
}

/// <summary>struct kvm_msi (32 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmMsi
{
    public uint AddressLo, AddressHi, Data, Flags, DevId;
    public fixed byte Pad[12];
}

/// <summary>struct kvm_pit_config (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmPitConfig
{
    public uint Flags;
    public fixed uint Pad[15];
}

/// <summary>struct kvm_msr_entry (16 bytes); kvm_msrs is a u32 count, u32 pad, then these.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmMsrEntry
{
    public uint Index, Reserved;
    public ulong Data;
}

/// <summary>struct kvm_cpuid_entry2 (40 bytes); kvm_cpuid2 is a u32 count, u32 pad, then these.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmCpuidEntry2
{
    public uint Function, Index, Flags, Eax, Ebx, Ecx, Edx;
    public fixed uint Padding[3];
}

/// <summary>struct kvm_irq_routing_entry (48 bytes): gsi, type, flags, pad, then a 32-byte union (irqchip: chip, pin; msi: address lo/hi, data).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KvmIrqRoutingEntry
{
    public uint Gsi, Type, Flags, Pad;
    public fixed uint U[8];
}

/// <summary>Offsets into the mmapped struct kvm_run that the run loop reads.</summary>
internal static class KvmRunOffsets
{
    public const int ImmediateExit = 1, ExitReason = 8;
    public const int Union = 32;
    // io: direction u8, size u8, port u16, count u32, data_offset u64
    public const int IoDirection = Union, IoSize = Union + 1, IoPort = Union + 2, IoCount = Union + 4, IoDataOffset = Union + 8;
    // mmio: phys_addr u64, data[8], len u32, is_write u8
    public const int MmioPhysAddr = Union, MmioData = Union + 8, MmioLen = Union + 16, MmioIsWrite = Union + 20;
    // internal: suberror u32, ndata u32, data[16] u64; system_event: type u32, ndata u32, data[16] u64
    public const int InternalSuberror = Union, InternalNdata = Union + 4, InternalData = Union + 8;
    public const int SystemEventType = Union;
    public const int FailEntryReason = Union, FailEntryCpu = Union + 8;
}
