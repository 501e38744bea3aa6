namespace HyperSharp.Machine.Devices.Serial;

/// <summary>Saved state of a 16550A UART, version 1: every register and the bytes waiting to be read.</summary>
public sealed record Serial16550State(
    byte InterruptEnable, byte LineControl, byte ModemControl, byte LineStatus, byte Scratch,
    byte DivisorLow, byte DivisorHigh, bool FifoEnabled, bool TransmitterEmptyPending, byte[] ReceiveBuffer)
{
    public const int Version = 1;
}
