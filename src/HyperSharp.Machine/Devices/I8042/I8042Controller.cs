namespace HyperSharp.Machine.Devices.I8042;

/// <summary>
/// The PS/2 controller at ports 0x60/0x64, enough for what a Linux guest does with it: probe it
/// (self-test, configuration byte), and reset the machine with command 0xFE or by pulsing the
/// reset line through the output port. No keyboard or mouse is attached.
/// </summary>
public sealed class I8042Controller(Action requestReset) : IPortIoDevice
{
    private const byte StatusOutputFull = 0x01, StatusSystemFlag = 0x04, StatusCommand = 0x08;
    private readonly object _lock = new();
    private readonly Queue<byte> _output = new();
    private byte _config = 0x45, _status = StatusSystemFlag;
    private byte? _pendingCommand;

    public string Name => "i8042";

    public void Read(ulong offset, Span<byte> data)
    {
        data.Fill(0);
        lock (_lock)
        {
            if (offset == 4) { data[0] = (byte)(_status | (_output.Count > 0 ? StatusOutputFull : 0)); return; }
            data[0] = _output.Count > 0 ? _output.Dequeue() : (byte)0;
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        bool reset = false;
        lock (_lock)
        {
            if (offset == 4) reset = Command(data[0]);
            else reset = Data(data[0]);
        }
        if (reset) requestReset();
    }

    private bool Command(byte command)
    {
        _status |= StatusCommand;
        switch (command)
        {
            case 0x20: _output.Enqueue(_config); break;       // read configuration byte
            case 0x60 or 0xD1 or 0xD2 or 0xD3 or 0xD4: _pendingCommand = command; break; // next data byte is an argument
            case 0xAA: _output.Enqueue(0x55); break;          // controller self-test passed
            case 0xAB or 0xA9: _output.Enqueue(0x00); break;  // port tests passed
            case 0xFE: return true;                            // pulse the reset line
        }
        return false;
    }

    private bool Data(byte value)
    {
        _status &= unchecked((byte)~StatusCommand);
        var pending = _pendingCommand;
        _pendingCommand = null;
        switch (pending)
        {
            case 0x60: _config = value; return false;
            case 0xD1: return (value & 1) == 0;               // output port bit 0 low resets the CPU
            case 0xD2 or 0xD3: _output.Enqueue(value); return false; // echo as if from the device
            case 0xD4: return false;                           // to the (absent) mouse
        }
        return false; // to the (absent) keyboard: no answer, as with nothing plugged in
    }
}
