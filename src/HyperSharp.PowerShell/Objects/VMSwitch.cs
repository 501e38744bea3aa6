namespace HyperSharp.PowerShell;

/// <summary>Get-VMSwitch's object, with Hyper-V's property names.</summary>
public sealed class VMSwitch
{
    public required string ComputerName { get; init; }
    public required string Name { get; init; }
    public required Guid Id { get; init; }
    public required string Notes { get; init; }
    public required VMSwitchType SwitchType { get; init; }
    /// <summary>True for an Internal switch: the host has an interface on it (its TAP).</summary>
    public bool AllowManagementOS => SwitchType == VMSwitchType.Internal;
    /// <summary>External: the host network adapter the switch is bridged to (Linux has names, not hardware descriptions); null otherwise.</summary>
    public required string? NetAdapterInterfaceDescription { get; init; }
    public string[] NetAdapterInterfaceDescriptions => NetAdapterInterfaceDescription is { } d ? [d] : [];
    // HyperSharp's own: the Internal switch's TAP interface, and what the switch does.
    public required string HostInterfaceName { get; init; }
    public required int ConnectedAdapterCount { get; init; }
    public required long FramesForwarded { get; init; }
    public required long FramesDropped { get; init; }

    public override string ToString() => $"VMSwitch (Name = '{Name}') [Id = '{Id}']";
}
