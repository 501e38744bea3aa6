using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Switching;

namespace HyperSharp.Networking.Configuration;

/// <summary>One switch as the host persists it (New-VMSwitch's parameters).</summary>
public sealed record SwitchConfiguration
{
    public required string Name { get; init; }
    public Guid Id { get; init; } = Guid.NewGuid();
    public SwitchType Type { get; init; }

    /// <summary>External: the host adapter bridged to (-NetAdapterName).</summary>
    public string? NetAdapterName { get; init; }

    /// <summary>Internal: the TAP interface the switch creates for the host; defaults from the name.</summary>
    public string? HostInterfaceName { get; init; }

    public string Notes { get; init; } = "";
}

/// <summary>
/// The host's network configuration file, versioned: its switches and the dynamic MAC range.
/// Version 1 is this shape; later versions must keep reading it.
/// </summary>
public sealed record NetworkConfiguration
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    public SwitchConfiguration[] Switches { get; init; } = [];

    /// <summary>First and last address handed out dynamically (Hyper-V's MacAddressMinimum/Maximum).</summary>
    public MacAddress MacAddressMinimum { get; init; } = MacAddressPool.DefaultRange().Minimum;

    public MacAddress MacAddressMaximum { get; init; } = MacAddressPool.DefaultRange().Maximum;
}
