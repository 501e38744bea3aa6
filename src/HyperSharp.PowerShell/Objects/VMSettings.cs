namespace HyperSharp.PowerShell;

/// <summary>Get-VMProcessor's object.</summary>
public sealed class VMProcessor
{
    public required string ComputerName { get; init; }
    public required string VMName { get; init; }
    public required Guid VMId { get; init; }
    public string Name => "Processor";
    public required long Count { get; init; }
    /// <summary>Percent of Count processors' time the VM may use (100 = no cap).</summary>
    public required long Maximum { get; init; }
    public required long Reserve { get; init; }
    public required int RelativeWeight { get; init; }
    public required bool ExposeVirtualizationExtensions { get; init; }
    public required bool EnableHostResourceProtection { get; init; }
}

/// <summary>Get-VMMemory's object.</summary>
public sealed class VMMemory
{
    public required string ComputerName { get; init; }
    public required string VMName { get; init; }
    public required Guid VMId { get; init; }
    public string Name => "Memory";
    public required long Startup { get; init; }
    public required bool DynamicMemoryEnabled { get; init; }
    public required long Minimum { get; init; }
    public required long Maximum { get; init; }
    public required int Buffer { get; init; }
    public required int Priority { get; init; }
    /// <summary>Static memory that can be resized while the virtual machine runs.</summary>
    public required bool RuntimeResizeEnabled { get; init; }
    /// <summary>How far above its startup memory the virtual machine can grow while it runs (from its next start).</summary>
    public required long HotAddLimit { get; init; }
}

/// <summary>Get-VMHardDiskDrive's object (also in VirtualMachine.HardDrives).</summary>
public sealed class HardDiskDrive
{
    public required string ComputerName { get; init; }
    public required string VMName { get; init; }
    public required Guid VMId { get; init; }
    public required string Name { get; init; }
    public required ControllerType ControllerType { get; init; }
    public required int ControllerNumber { get; init; }
    public required int ControllerLocation { get; init; }
    public required string Path { get; init; }
    public required bool ReadOnly { get; init; }
    /// <summary>Storage QoS in normalized IOPS (8 KiB units): at most this many; 0 for no limit.</summary>
    public ulong MaximumIOPS { get; init; }
    /// <summary>Storage QoS: an alert when the drive, kept busy, gets fewer; 0 for none.</summary>
    public ulong MinimumIOPS { get; init; }
    /// <summary>Pass-through physical disks are not supported; always null, as for Hyper-V's VHD-backed drives.</summary>
    public int? DiskNumber => null;

    public override string ToString() => $"HardDiskDrive (Name = '{Name}') [VMName = '{VMName}']";
}

/// <summary>Get-VMHost's object.</summary>
public sealed class VMHost
{
    public required string ComputerName { get; init; }
    public string Name => ComputerName;
    public required int LogicalProcessorCount { get; init; }
    public required long MemoryCapacity { get; init; }
    public required string VirtualMachinePath { get; init; }
    public required string VirtualHardDiskPath { get; init; }
    public required int MaximumProcessorsPerVM { get; init; }
    public required long MaximumMemoryPerVM { get; init; }
    public required bool NestedVirtualizationSupported { get; init; }
    public required string DefaultBackend { get; init; }
    public required string BackendReason { get; init; }
    public required string Version { get; init; }

    // Live migration (Set-VMHost, Enable-/Disable-VMMigration).
    public bool VirtualMachineMigrationEnabled { get; init; }
    public MigrationAuthenticationType VirtualMachineMigrationAuthenticationType { get; init; }
    public VMMigrationPerformance VirtualMachineMigrationPerformanceOption { get; init; }
    public long MaximumVirtualMachineMigrations { get; init; }
    public bool UseAnyNetworkForMigration { get; init; }
}
