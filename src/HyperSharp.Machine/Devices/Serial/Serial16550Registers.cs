namespace HyperSharp.Machine.Devices.Serial;

/// <summary>Register offsets and bits of the 16550A UART (National Semiconductor PC16550D data sheet).</summary>
internal static class Uart
{
    public const int Data = 0, InterruptEnable = 1, InterruptId = 2, FifoControl = 2, LineControl = 3, ModemControl = 4, LineStatus = 5, ModemStatus = 6, Scratch = 7;

    public const byte IerReceivedData = 0x01, IerTransmitterEmpty = 0x02, IerLineStatus = 0x04, IerModemStatus = 0x08;

    public const byte IirNoInterrupt = 0x01, IirLineStatus = 0x06, IirReceivedData = 0x04, IirTransmitterEmpty = 0x02, IirModemStatus = 0x00, IirFifoEnabled = 0xC0;

    public const byte FcrEnable = 0x01, FcrClearReceive = 0x02, FcrClearTransmit = 0x04;

    public const byte LcrDivisorLatch = 0x80;

    public const byte McrDtr = 0x01, McrRts = 0x02, McrOut1 = 0x04, McrOut2 = 0x08, McrLoopback = 0x10;

    public const byte LsrDataReady = 0x01, LsrOverrun = 0x02, LsrTransmitterHoldingEmpty = 0x20, LsrTransmitterEmpty = 0x40;

    public const byte MsrCts = 0x10, MsrDsr = 0x20, MsrRi = 0x40, MsrDcd = 0x80;

    /// <summary>Receive buffer depth. The chip has 16 bytes; a deeper buffer only means fewer overruns for pasted input.</summary>
    public const int ReceiveCapacity = 1024;
}
