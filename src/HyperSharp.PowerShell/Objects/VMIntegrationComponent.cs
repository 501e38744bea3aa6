namespace HyperSharp.PowerShell;

/// <summary>Get-VMIntegrationService's object, with Hyper-V's property names.</summary>
public sealed class VMIntegrationComponent
{
    public required string ComputerName { get; init; }
    public required string VMName { get; init; }
    public required Guid VMId { get; init; }
    /// <summary>Heartbeat, Shutdown, Time Synchronization, Key-Value Pair Exchange, VSS or Guest Service Interface.</summary>
    public required string Name { get; init; }
    public required bool Enabled { get; init; }
    /// <summary>OK, No Contact or Lost Communication while the VM runs and the service is on; empty otherwise.</summary>
    public required string PrimaryStatusDescription { get; init; }
    /// <summary>What lies behind a status other than OK; empty otherwise.</summary>
    public required string SecondaryStatusDescription { get; init; }

    public override string ToString() => $"VMIntegrationComponent (Name = '{Name}', VMName = '{VMName}') [VMId = '{VMId}']";
}
