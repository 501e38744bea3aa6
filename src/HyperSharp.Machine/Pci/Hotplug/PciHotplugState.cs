using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.Pci.Hotplug;

/// <summary>Saved state of the PCI hotplug controller: unacknowledged events and each slot's label (null when none). Version 2 binary (1 was JSON).</summary>
public sealed record PciHotplugState(uint DeviceCheck, uint EjectRequest, string?[] Labels) : IStateRecord<PciHotplugState>
{
    public static ushort Version => 2;

    public void Write(StateWriter w) { w.U32(DeviceCheck); w.U32(EjectRequest); w.Array(Labels, (w, l) => w.OptionalString(l)); }

    public static PciHotplugState Read(ref StateReader r, ushort version) =>
        new(r.U32(), r.U32(), r.Array(1, static (ref StateReader r) => r.OptionalString()));
}
