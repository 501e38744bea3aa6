namespace HyperSharp.Hypervisor.Kvm.Interop;

/// <summary>KVM ioctl request numbers, capability numbers and constants (include/uapi/linux/kvm.h, x86-64).</summary>
internal static class KvmIoctl
{
    // /dev/kvm
    public const nuint GetApiVersion = 0xAE00, CreateVm = 0xAE01, GetMsrIndexList = 0xC004AE02, CheckExtension = 0xAE03,
        GetVcpuMmapSize = 0xAE04, GetSupportedCpuid = 0xC008AE05;

    // VM fd
    public const nuint CreateVcpu = 0xAE41, GetDirtyLog = 0x4010AE42, SetUserMemoryRegion = 0x4020AE46, SetTssAddr = 0xAE47,
        CreateIrqchip = 0xAE60, IrqLine = 0x4008AE61, GetIrqchip = 0xC208AE62, SetIrqchip = 0x8208AE63,
        Irqfd = 0x4020AE76, CreatePit2 = 0x4040AE77, Ioeventfd = 0x4040AE79, SignalMsi = 0x4020AEA5,
        GetPit2 = 0x8070AE9F, SetPit2 = 0x4070AEA0, SetGsiRouting = 0x4008AE6A;

    // vCPU fd
    public const nuint Run = 0xAE80, GetRegs = 0x8090AE81, SetRegs = 0x4090AE82, GetSregs = 0x8138AE83, SetSregs = 0x4138AE84,
        GetMsrs = 0xC008AE88, SetMsrs = 0x4008AE89, GetFpu = 0x81A0AE8C, SetFpu = 0x41A0AE8D,
        GetLapic = 0x8400AE8E, SetLapic = 0x4400AE8F, SetCpuid2 = 0x4008AE90,
        GetMpState = 0x8004AE98, SetMpState = 0x4004AE99, GetVcpuEvents = 0x8040AE9F, SetVcpuEvents = 0x4040AEA0,
        GetDebugRegs = 0x8080AEA1, SetDebugRegs = 0x4080AEA2, GetXsave = 0x9000AEA4, SetXsave = 0x5000AEA5,
        GetXcrs = 0x8188AEA6, SetXcrs = 0x4188AEA7, GetXsave2 = 0x9000AECF;

    // Capabilities (KVM_CHECK_EXTENSION)
    public const int CapIrqchip = 0, CapUserMemory = 3, CapSetTssAddr = 4, CapNrVcpus = 9, CapNrMemslots = 10,
        CapIrqfd = 32, CapPit2 = 33, CapIoeventfd = 36, CapVcpuEvents = 41, CapDebugRegs = 50, CapXsave = 55, CapXcrs = 56,
        CapMaxVcpus = 66, CapIrqRouting = 25, CapSignalMsi = 77, CapReadonlyMem = 81, CapMaxVcpuId = 128, CapImmediateExit = 136, CapXsave2 = 208;

    public const int ApiVersion = 12;

    // Flags
    public const uint MemLogDirtyPages = 1, MemReadonly = 2;
    public const uint IrqfdDeassign = 1;
    public const uint IoeventfdDatamatch = 1, IoeventfdPio = 2, IoeventfdDeassign = 4;
    public const uint PitSpeakerDummy = 1;
    public const uint VcpuEventValidNmiPending = 1, VcpuEventValidSipiVector = 2, VcpuEventValidShadow = 4;

    // GSI routing entry types and irqchip ids
    public const uint RoutingIrqchip = 1, RoutingMsi = 2;
    public const uint IrqchipPicMaster = 0, IrqchipPicSlave = 1, IrqchipIoapic = 2;

    // Exit reasons (kvm_run.exit_reason)
    public const uint ExitUnknown = 0, ExitException = 1, ExitIo = 2, ExitHypercall = 3, ExitDebug = 4, ExitHlt = 5, ExitMmio = 6,
        ExitShutdown = 8, ExitFailEntry = 9, ExitIntr = 10, ExitInternalError = 17, ExitSystemEvent = 24;
    public const uint SystemEventShutdown = 1, SystemEventReset = 2, SystemEventCrash = 3;
}
