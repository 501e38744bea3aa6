using HyperSharp.Api.V1;

namespace HyperSharp.Inventory;

/// <summary>
/// One VM's configuration as stored in its folder (vm.json). Versioned: a later HyperSharp reads every
/// earlier version. Only the host writes it, always through <see cref="AtomicFile"/>.
/// Version 2 added the network adapters; a version 1 file reads as a VM without any. Version 3 added
/// <see cref="MemorySettings.RuntimeResize"/>; earlier files read with it off (the VM keeps the hardware it had).
/// Version 4 added the checkpoint tree (<see cref="Checkpoints"/>, <see cref="CurrentCheckpointId"/>); earlier files read as a VM without checkpoints.
/// Version 5 added <see cref="IntegrationServices"/>; earlier files read with Hyper-V's defaults (all on but Guest Service Interface).
/// </summary>
public sealed record VmConfiguration
{
    public const int CurrentVersion = 5;

    public int Version { get; init; } = CurrentVersion;
    public required Guid Id { get; init; }
    public required string Name { get; init; }
    public int Generation { get; init; } = 2;
    public long CreationTimeUnixMs { get; init; }
    public string Notes { get; init; } = "";
    public string Backend { get; init; } = "auto";
    public ProcessorSettings Processor { get; init; } = new();
    public MemorySettings Memory { get; init; } = new();
    public BootSettings Boot { get; init; } = new();
    public List<DiskSettings> Disks { get; init; } = [];
    public List<NetworkAdapterSettings> NetworkAdapters { get; init; } = [];
    public AutomaticStartAction AutomaticStartAction { get; init; } = AutomaticStartAction.StartIfRunning;
    public int AutomaticStartDelaySeconds { get; init; }
    public AutomaticStopAction AutomaticStopAction { get; init; } = AutomaticStopAction.Save;
    public CheckpointType CheckpointType { get; init; } = CheckpointType.Production;
    /// <summary>The checkpoint tree, oldest first; empty in a checkpoint's own copy of the configuration.</summary>
    public List<CheckpointRecord> Checkpoints { get; init; } = [];
    /// <summary>The checkpoint the VM's current state ("Now") descends from: the last one taken or restored; null without checkpoints.</summary>
    public Guid? CurrentCheckpointId { get; init; }
    public IntegrationServiceSettings IntegrationServices { get; init; } = new();

    /// <summary>
    /// SCSI controllers (Add-/Remove-VMScsiController), each a virtio-scsi device of 64 locations; null in files written
    /// before they were kept, which get what <see cref="ScsiControllerCount"/> derives from their drives (no version
    /// bump: an older build reading a newer file ignores the field and derives the same count from the drives).
    /// </summary>
    public int? ScsiControllers { get; init; }

    /// <summary>The SCSI controllers the VM has: as recorded, else as many as its SCSI drives need and at least one (Hyper-V gives a new VM one).</summary>
    public int ScsiControllerCount() => ScsiControllers
        ?? Math.Max(1, Disks.Where(d => d.ControllerType == ControllerType.Scsi).Select(d => d.ControllerNumber + 1).DefaultIfEmpty(0).Max());
}

/// <summary>Get-VMProcessor's settings: count, vendor, and the cgroup limits (Maximum → cpu.max, RelativeWeight → cpu.weight).</summary>
public sealed record ProcessorSettings
{
    public int Count { get; init; } = 1;
    /// <summary>The vendor the processors present; null (absent in files from before it was a choice) for the backend's default.</summary>
    public HyperSharp.Hypervisor.ProcessorVendor? Vendor { get; init; }
    public int Maximum { get; init; } = 100;
    public int Reserve { get; init; }
    public int RelativeWeight { get; init; } = 100;
    public bool ExposeVirtualizationExtensions { get; init; }
    /// <summary>Set-VMProcessor -EnableHostResourceProtection: the VM's device accesses are held to a fair share (see HostResourceProtection).</summary>
    public bool EnableHostResourceProtection { get; init; }
}

/// <summary>
/// Get-VMMemory's settings. A VM with dynamic memory, or with <see cref="RuntimeResize"/>, runs with a balloon and
/// hot-add memory, so its memory can change while it runs (<see cref="HotAddBytes"/> says how far it can grow). A
/// running dynamic VM's memory is set by the host's balancer from its demand, Buffer and Priority.
/// </summary>
public sealed record MemorySettings
{
    /// <summary>Static memory's hot-add room: three times the startup memory (so 512 MiB may grow to 2 GiB), at least 1 GiB, at most 64 GiB.</summary>
    public const long MinStaticHotAddBytes = 1L << 30, MaxStaticHotAddBytes = 64L << 30;
    public const int DefaultBuffer = 20, DefaultPriority = 50;

    public long StartupBytes { get; init; } = 512L << 20;
    public bool DynamicMemoryEnabled { get; init; }
    public long MinimumBytes { get; init; } = 512L << 20;
    public long MaximumBytes { get; init; } = 1L << 40;
    public int Buffer { get; init; } = DefaultBuffer;
    public int Priority { get; init; } = DefaultPriority;

    /// <summary>
    /// Static memory that can be resized while the VM runs (Set-VMMemory -StartupBytes on a running VM), as Hyper-V allows:
    /// the VM gets a balloon and hot-add memory when it starts. Off by default and in files from before version 3: it adds
    /// two PCI devices and a hot-add region the VM did not have.
    /// </summary>
    public bool RuntimeResize { get; init; }

    /// <summary>Whether the VM runs with a balloon and hot-add memory (dynamic memory, or runtime resize).</summary>
    public bool Resizable() => DynamicMemoryEnabled || RuntimeResize;

    /// <summary>
    /// Bytes of hot-add room above the startup memory a VM started with these settings gets: dynamic memory, up to its
    /// maximum; static memory with runtime resize, a bounded default (see <see cref="MinStaticHotAddBytes"/>: KVM
    /// registers host memory per slot size, about 2 GiB per TiB of guest memory, so the room is never huge); otherwise none.
    /// </summary>
    public long HotAddBytes()
    {
        if (DynamicMemoryEnabled) return Math.Max(0, MaximumBytes - StartupBytes);
        if (!RuntimeResize) return 0;
        return Math.Clamp(3 * StartupBytes, MinStaticHotAddBytes, MaxStaticHotAddBytes);
    }
}

/// <summary>What the VM boots: a Linux kernel, optional initrd and command line.</summary>
public sealed record BootSettings
{
    public string KernelPath { get; init; } = "";
    public string? InitrdPath { get; init; }
    public string CommandLine { get; init; } = "console=ttyS0";

    /// <summary><see cref="BootFirmware.None"/> boots <see cref="KernelPath"/> directly; <see cref="BootFirmware.Bios"/>: SeaBIOS boots the VM's disks.</summary>
    public string Firmware { get; init; } = BootFirmware.None;
}

/// <summary>The firmware a VM boots through: none (the host loads its kernel) or a PC BIOS (Generation 1).</summary>
public static class BootFirmware
{
    public const string None = "", Bios = "bios";
}

/// <summary>One hard disk drive: where it sits (controller type, number, location) and its image.</summary>
public sealed record DiskSettings
{
    public ControllerType ControllerType { get; init; } = ControllerType.Scsi;
    public int ControllerNumber { get; init; }
    public int ControllerLocation { get; init; }
    public required string Path { get; init; }
    public bool ReadOnly { get; init; }

    /// <summary>Storage QoS (Set-VMHardDiskDrive -MaximumIOPS): normalized IOPS (8 KiB units) the worker lets through at most; 0 for no limit.</summary>
    public long MaximumIops { get; init; }

    /// <summary>Storage QoS (-MinimumIOPS): below this, while the disk is kept busy, the worker raises an alert; 0 for none. Not a reservation, as in Hyper-V.</summary>
    public long MinimumIops { get; init; }

    /// <summary>Hyper-V's name for the drive; also the PCI slot label the guest reads (Linux: /sys/bus/pci/devices/BDF/label).</summary>
    public string DriveName() =>
        $"Hard Drive on {(ControllerType == ControllerType.Ide ? "IDE" : "SCSI")} controller number {ControllerNumber} at location {ControllerLocation}";
}
