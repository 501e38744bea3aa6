namespace HyperSharp.Machine.Pci.Hotplug;

/// <summary>
/// Saved state of the PCI hotplug controller: bus 0's unacknowledged events, each slot id's label (null when none), and
/// the bridges' buses' events (null in files saved before bridges existed).
/// </summary>
public sealed record PciHotplugState(uint DeviceCheck, uint EjectRequest, string?[] Labels, uint[]? BridgeDeviceCheck = null, uint[]? BridgeEjectRequest = null);
