namespace HyperSharp.PowerShell;

/// <summary>Get-VM's object, with Hyper-V's property names.</summary>
public sealed class VirtualMachine
{
    public required string ComputerName { get; init; }
    public required string Name { get; init; }
    public string VMName => Name;
    public required Guid Id { get; init; }
    public Guid VMId => Id;
    public required VMState State { get; init; }
    /// <summary>Percent of the host's processors, as Hyper-V rounds it.</summary>
    public required int CPUUsage { get; init; }
    /// <summary>The memory the guest has: startup memory plus hot-added memory, less what its balloon holds.</summary>
    public required long MemoryAssigned { get; init; }
    /// <summary>The memory the guest uses, from its balloon statistics; 0 when it does not report them.</summary>
    public required long MemoryDemand { get; init; }
    /// <summary>Dynamic memory only (else empty): OK, Low or Warning.</summary>
    public required string MemoryStatus { get; init; }
    public required long MemoryStartup { get; init; }
    public required TimeSpan Uptime { get; init; }
    public required string Status { get; init; }
    public required string Version { get; init; }
    public required int Generation { get; init; }
    public required int ProcessorCount { get; init; }
    public required string Path { get; init; }
    public string ConfigurationLocation => Path;
    public required string Notes { get; init; }
    public required DateTime CreationTime { get; init; }
    public required HardDiskDrive[] HardDrives { get; init; }
    public required VMNetworkAdapter[] NetworkAdapters { get; init; }
    public required StartAction AutomaticStartAction { get; init; }
    public required int AutomaticStartDelay { get; init; }
    public required StopAction AutomaticStopAction { get; init; }
    public required CheckpointType CheckpointType { get; init; }
    /// <summary>OkApplicationsUnknown, LostCommunication, NoContact or Disabled while the VM runs; empty while it is off.</summary>
    public required string Heartbeat { get; init; }
    /// <summary>The guest agent's protocol and software; empty before an agent connected.</summary>
    public required string IntegrationServicesVersion { get; init; }
    /// <summary>"Up to date" or "Update required" once an agent connected; empty before.</summary>
    public required string IntegrationServicesState { get; init; }
    // HyperSharp's own: how the VM boots and runs, and its worker process.
    public required string KernelPath { get; init; }
    public required string InitrdPath { get; init; }
    public required string KernelCommandLine { get; init; }
    public required string Backend { get; init; }
    public required int WorkerProcessId { get; init; }
    public required string LastOffReason { get; init; }
    /// <summary>The guest's host name and OS as its agent reports them (Key-Value Pair Exchange); empty without an agent.</summary>
    public required string GuestHostName { get; init; }
    public required string GuestOSName { get; init; }
    public required string GuestOSVersion { get; init; }

    public override string ToString() => $"VirtualMachine (Name = '{Name}') [Id = '{Id}']";
}
