using static HyperSharp.Machine.Devices.Serial.Uart;

namespace HyperSharp.Machine.Devices.Serial;

/// <summary>
/// A 16550A UART (COM1 at 0x3F8, IRQ 4 on a PC): the guest console. Bytes the guest transmits go
/// to <paramref name="transmit"/>; bytes the host types arrive through <see cref="Receive"/>.
/// Loopback mode, FIFOs, divisor latch and the interrupt priorities behave as the data sheet says,
/// because Linux's 8250 driver probes them.
/// </summary>
public sealed class Serial16550(string name, IInterruptLine irq, Action<byte> transmit) : IPortIoDevice
{
    private readonly object _lock = new();
    private readonly Queue<byte> _receive = new();
    private byte _ier, _lcr, _mcr, _lsr = LsrTransmitterHoldingEmpty | LsrTransmitterEmpty, _scratch, _dll = 12, _dlm;
    private bool _fifo, _thrEmptyPending;
    private bool _irqLevel;

    public string Name => name;

    /// <summary>Queues bytes typed on the host console; returns how many fit.</summary>
    public int Receive(ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            int accepted = 0;
            foreach (byte b in bytes)
            {
                if (_receive.Count >= ReceiveCapacity) { _lsr |= LsrOverrun; break; }
                _receive.Enqueue(b);
                accepted++;
            }
            if (accepted > 0) _lsr |= LsrDataReady;
            UpdateInterrupt();
            return accepted;
        }
    }

    /// <summary>True when the receive buffer has room (so a console pump can wait instead of dropping input).</summary>
    public bool CanReceive { get { lock (_lock) return _receive.Count < ReceiveCapacity; } }

    public void Read(ulong offset, Span<byte> data)
    {
        byte value;
        lock (_lock) value = ReadRegister((int)offset);
        data.Fill(0);
        data[0] = value;
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        byte? sent = null;
        lock (_lock) sent = WriteRegister((int)offset, data[0]);
        if (sent is byte b) transmit(b); // outside the lock: the console may block
    }

    private byte ReadRegister(int register)
    {
        bool dlab = (_lcr & LcrDivisorLatch) != 0;
        switch (register)
        {
            case Data when dlab: return _dll;
            case Data:
                byte b = _receive.Count > 0 ? _receive.Dequeue() : (byte)0;
                if (_receive.Count == 0) _lsr &= unchecked((byte)~LsrDataReady);
                UpdateInterrupt();
                return b;
            case InterruptEnable when dlab: return _dlm;
            case InterruptEnable: return _ier;
            case InterruptId:
                byte iir = (byte)(CurrentInterrupt() | (_fifo ? IirFifoEnabled : 0));
                if ((iir & 0x0F) == IirTransmitterEmpty) { _thrEmptyPending = false; UpdateInterrupt(); } // reading IIR acknowledges THRE
                return iir;
            case LineControl: return _lcr;
            case ModemControl: return _mcr;
            case LineStatus:
                byte lsr = _lsr;
                _lsr &= unchecked((byte)~LsrOverrun); // error bits clear on read
                UpdateInterrupt();
                return lsr;
            case ModemStatus: return ModemStatusValue();
            case Scratch: return _scratch;
            default: return 0xFF;
        }
    }

    /// <summary>Returns the byte to transmit, if the write sent one.</summary>
    private byte? WriteRegister(int register, byte value)
    {
        bool dlab = (_lcr & LcrDivisorLatch) != 0;
        byte? sent = null;
        switch (register)
        {
            case Data when dlab: _dll = value; break;
            case Data:
                if ((_mcr & McrLoopback) != 0)
                {
                    if (_receive.Count < ReceiveCapacity) _receive.Enqueue(value); else _lsr |= LsrOverrun;
                    _lsr |= LsrDataReady;
                }
                else sent = value;
                _thrEmptyPending = (_ier & IerTransmitterEmpty) != 0; // transmission is instant: THR is empty again
                break;
            case InterruptEnable when dlab: _dlm = value; break;
            case InterruptEnable:
                bool enablingThre = (value & IerTransmitterEmpty) != 0 && (_ier & IerTransmitterEmpty) == 0;
                _ier = (byte)(value & 0x0F);
                if (enablingThre) _thrEmptyPending = true; // the holding register is empty, so THRE fires at once
                break;
            case FifoControl:
                _fifo = (value & FcrEnable) != 0;
                if ((value & FcrClearReceive) != 0) { _receive.Clear(); _lsr &= unchecked((byte)~LsrDataReady); }
                break;
            case LineControl: _lcr = value; break;
            case ModemControl: _mcr = (byte)(value & 0x1F); break;
            case LineStatus: break; // read-only in practice
            case Scratch: _scratch = value; break;
        }
        UpdateInterrupt();
        return sent;
    }

    private byte ModemStatusValue()
    {
        if ((_mcr & McrLoopback) == 0) return MsrDcd | MsrDsr | MsrCts; // a cable with the other end ready
        byte msr = 0; // loopback ties outputs to inputs: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD
        if ((_mcr & McrDtr) != 0) msr |= MsrDsr;
        if ((_mcr & McrRts) != 0) msr |= MsrCts;
        if ((_mcr & McrOut1) != 0) msr |= MsrRi;
        if ((_mcr & McrOut2) != 0) msr |= MsrDcd;
        return msr;
    }

    /// <summary>The highest-priority pending interrupt as IIR encodes it.</summary>
    private byte CurrentInterrupt()
    {
        if ((_ier & IerLineStatus) != 0 && (_lsr & LsrOverrun) != 0) return IirLineStatus;
        if ((_ier & IerReceivedData) != 0 && (_lsr & LsrDataReady) != 0) return IirReceivedData;
        if ((_ier & IerTransmitterEmpty) != 0 && _thrEmptyPending) return IirTransmitterEmpty;
        return IirNoInterrupt;
    }

    private void UpdateInterrupt()
    {
        bool level = CurrentInterrupt() != IirNoInterrupt;
        if (level == _irqLevel) return;
        _irqLevel = level;
        irq.Set(level);
    }

    public Serial16550State SaveState()
    {
        lock (_lock)
            return new Serial16550State(_ier, _lcr, _mcr, _lsr, _scratch, _dll, _dlm, _fifo, _thrEmptyPending, _receive.ToArray());
    }

    public void RestoreState(Serial16550State state)
    {
        lock (_lock)
        {
            (_ier, _lcr, _mcr, _lsr, _scratch, _dll, _dlm, _fifo, _thrEmptyPending) =
                (state.InterruptEnable, state.LineControl, state.ModemControl, state.LineStatus, state.Scratch, state.DivisorLow, state.DivisorHigh, state.FifoEnabled, state.TransmitterEmptyPending);
            _receive.Clear();
            foreach (byte b in state.ReceiveBuffer.Take(ReceiveCapacity)) _receive.Enqueue(b);
            _irqLevel = false;
            UpdateInterrupt();
        }
    }
}
