using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.Firmware.FwCfg;

/// <summary>Saved state of the firmware configuration interface: the selected item, the read offset in it, a DMA address half written.</summary>
public sealed record FwCfgState(ushort Key, uint Offset, uint DmaHigh) : IStateRecord<FwCfgState>
{
    public static ushort Version => 1;

    public void Write(StateWriter w) { w.U16(Key); w.U32(Offset); w.U32(DmaHigh); }

    public static FwCfgState Read(ref StateReader r, ushort version) => new(r.U16(), r.U32(), r.U32());
}
