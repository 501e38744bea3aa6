using HyperSharp.Api.V1;

namespace HyperSharp.Inventory;

/// <summary>
/// One VM's configuration as stored in its folder (vm.json). Versioned: a later HyperSharp reads every
/// earlier version. Only the host writes it, always through <see cref="AtomicFile"/>.
/// Version 2 added the network adapters; a version 1 file reads as a VM without any.
/// </summary>
public sealed record VmConfiguration
{
    public const int CurrentVersion = 2;

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
}

/// <summary>Get-VMMemory's settings. Dynamic memory is recorded but not yet acted on (memory is static).</summary>
public sealed record MemorySettings
{
    public long StartupBytes { get; init; } = 512L << 20;
    public bool DynamicMemoryEnabled { get; init; }
    public long MinimumBytes { get; init; } = 512L << 20;
    public long MaximumBytes { get; init; } = 1L << 40;
    public int Buffer { get; init; } = 20;
    public int Priority { get; init; } = 50;
}

/// <summary>What the VM boots: a Linux kernel, optional initrd and command line.</summary>
public sealed record BootSettings
{
    public string KernelPath { get; init; } = "";
    public string? InitrdPath { get; init; }
    public string CommandLine { get; init; } = "console=ttyS0";
}

/// <summary>One hard disk drive: where it sits (controller type, number, location) and its image.</summary>
public sealed record DiskSettings
{
    public ControllerType ControllerType { get; init; } = ControllerType.Scsi;
    public int ControllerNumber { get; init; }
    public int ControllerLocation { get; init; }
    public required string Path { get; init; }
    public bool ReadOnly { get; init; }

    /// <summary>Hyper-V's name for the drive; also the PCI slot label the guest reads (Linux: /sys/bus/pci/devices/BDF/label).</summary>
    public string DriveName() =>
        $"Hard Drive on {(ControllerType == ControllerType.Ide ? "IDE" : "SCSI")} controller number {ControllerNumber} at location {ControllerLocation}";
}
