using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.Devices.Serial;

/// <summary>Saved state of a 16550A UART: every register and the bytes waiting to be read. Version 2 binary (1 was JSON).</summary>
public sealed record Serial16550State(
    byte InterruptEnable, byte LineControl, byte ModemControl, byte LineStatus, byte Scratch,
    byte DivisorLow, byte DivisorHigh, bool FifoEnabled, bool TransmitterEmptyPending, byte[] ReceiveBuffer) : IStateRecord<Serial16550State>
{
    public static ushort Version => 2;

    public void Write(StateWriter w)
    {
        w.U8(InterruptEnable); w.U8(LineControl); w.U8(ModemControl); w.U8(LineStatus); w.U8(Scratch);
        w.U8(DivisorLow); w.U8(DivisorHigh); w.Bool(FifoEnabled); w.Bool(TransmitterEmptyPending); w.Bytes(ReceiveBuffer);
    }

    public static Serial16550State Read(ref StateReader r, ushort version) =>
        new(r.U8(), r.U8(), r.U8(), r.U8(), r.U8(), r.U8(), r.U8(), r.Bool(), r.Bool(), r.Bytes());
}
