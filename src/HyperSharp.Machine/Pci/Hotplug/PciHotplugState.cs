using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.Pci.Hotplug;

/// <summary>
/// Saved state of the PCI hotplug controller: bus 0's unacknowledged events, each slot id's label (null when none), and
/// the bridges' buses' events (null in files saved before bridges existed). Version 2 binary (1 was JSON).
/// </summary>
public sealed record PciHotplugState(uint DeviceCheck, uint EjectRequest, string?[] Labels, uint[]? BridgeDeviceCheck = null, uint[]? BridgeEjectRequest = null)
    : IStateRecord<PciHotplugState>
{
    public static ushort Version => 2;

    public void Write(StateWriter w)
    {
        w.U32(DeviceCheck); w.U32(EjectRequest); w.Array(Labels, (w, l) => w.OptionalString(l));
        w.Array(BridgeDeviceCheck ?? [], (w, v) => w.U32(v));
        w.Array(BridgeEjectRequest ?? [], (w, v) => w.U32(v));
    }

    public static PciHotplugState Read(ref StateReader r, ushort version) =>
        new(r.U32(), r.U32(), r.Array(1, static (ref StateReader r) => r.OptionalString()),
            r.Array(4, static (ref StateReader r) => r.U32()), r.Array(4, static (ref StateReader r) => r.U32()));
}
