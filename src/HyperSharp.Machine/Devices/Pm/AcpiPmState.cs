using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.Devices.Pm;

/// <summary>Saved state of the ACPI PM registers. Version 2 binary (1 was JSON).</summary>
public sealed record AcpiPmState(ushort Status, ushort Enable, ushort Control) : IStateRecord<AcpiPmState>
{
    public static ushort Version => 2;

    public void Write(StateWriter w) { w.U16(Status); w.U16(Enable); w.U16(Control); }

    public static AcpiPmState Read(ref StateReader r, ushort version) => new(r.U16(), r.U16(), r.U16());
}
