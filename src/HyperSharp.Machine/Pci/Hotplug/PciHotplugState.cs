namespace HyperSharp.Machine.Pci.Hotplug;

/// <summary>Saved state of the PCI hotplug controller, version 1: unacknowledged events and each slot's label (null when none).</summary>
public sealed record PciHotplugState(uint DeviceCheck, uint EjectRequest, string?[] Labels)
{
    public const int Version = 1;
}
