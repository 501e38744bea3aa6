using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.Devices.Pm;

/// <summary>Saved state of the GPE0 block: latched status and enable bits. Version 2 binary (1 was JSON).</summary>
public sealed record GpeBlockState(ushort Status, ushort Enable) : IStateRecord<GpeBlockState>
{
    public static ushort Version => 2;

    public void Write(StateWriter w) { w.U16(Status); w.U16(Enable); }

    public static GpeBlockState Read(ref StateReader r, ushort version) => new(r.U16(), r.U16());
}
