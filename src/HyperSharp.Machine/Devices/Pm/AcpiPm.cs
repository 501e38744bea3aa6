namespace HyperSharp.Machine.Devices.Pm;

/// <summary>
/// ACPI fixed-hardware power management registers (one block of ports the FADT names): PM1 event
/// (status, enable), PM1 control (sleep type and enable), the 3.579545 MHz PM timer, and the
/// reset register. The power button sets PWRBTN_STS and raises the SCI; the guest's S5 request
/// powers the machine off; a write of the reset value resets it.
/// </summary>
public sealed class AcpiPm(IInterruptLine sci, Action powerOff, Action reset, Func<long>? ticks = null) : IPortIoDevice
{
    /// <summary>Layout of the block (offsets from its base): PM1a_EVT (4), PM1a_CNT (2), PM_TMR (4), RESET (1).</summary>
    public const int EventOffset = 0, ControlOffset = 4, TimerOffset = 8, ResetOffset = 12, Length = 16;

    /// <summary>The SLP_TYP our DSDT's \_S5 package names, and the byte our FADT's reset register expects.</summary>
    public const int S5SleepType = 5;
    public const byte ResetValue = 0x0F;

    private const ushort PowerButtonStatus = 1 << 8, TimerStatus = 1 << 0, WakeStatus = 1 << 15;
    private const ushort SciEnable = 1, SleepEnable = 1 << 13;
    private const long TimerHz = 3_579_545;

    private readonly object _lock = new();
    private readonly Func<long> _ticks = ticks ?? System.Diagnostics.Stopwatch.GetTimestamp;
    private ushort _status, _enable, _control = SciEnable; // no SMI handoff: ACPI mode from the start
    private bool _sciLevel;

    public string Name => "acpi-pm";

    /// <summary>Presses the power button (host-requested ACPI shutdown).</summary>
    public void PressPowerButton()
    {
        lock (_lock) { _status |= PowerButtonStatus; UpdateSci(); }
    }

    public void Read(ulong offset, Span<byte> data)
    {
        ulong value;
        lock (_lock)
        {
            value = offset switch
            {
                >= EventOffset and < EventOffset + 4 => ((ulong)_enable << 16 | _status) >> (int)(8 * (offset - EventOffset)),
                >= ControlOffset and < ControlOffset + 2 => (ulong)_control >> (int)(8 * (offset - ControlOffset)),
                >= TimerOffset and < TimerOffset + 4 => (ulong)(uint)((Int128)_ticks() * TimerHz / System.Diagnostics.Stopwatch.Frequency) >> (int)(8 * (offset - TimerOffset)),
                _ => 0,
            };
        }
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(value >> (8 * i));
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        ulong value = 0;
        for (int i = 0; i < data.Length; i++) value |= (ulong)data[i] << (8 * i);
        bool off = false, doReset = false;
        lock (_lock)
        {
            switch (offset)
            {
                case EventOffset: // status bits are cleared by writing 1; a 4-byte write also sets enable
                    _status &= (ushort)~value;
                    if (data.Length == 4) _enable = (ushort)(value >> 16);
                    break;
                case EventOffset + 2:
                    _enable = (ushort)value;
                    break;
                case ControlOffset:
                    _control = (ushort)(value & ~(ulong)SleepEnable);
                    off = (value & SleepEnable) != 0 && ((value >> 10) & 7) == S5SleepType;
                    break;
                case ResetOffset:
                    doReset = (byte)value == ResetValue;
                    break;
            }
            UpdateSci();
        }
        if (off) powerOff();
        if (doReset) reset();
    }

    private void UpdateSci()
    {
        bool level = (_status & _enable & (PowerButtonStatus | TimerStatus)) != 0 && (_control & SciEnable) != 0;
        if (level == _sciLevel) return;
        _sciLevel = level;
        sci.Set(level);
    }

    public AcpiPmState SaveState() { lock (_lock) return new AcpiPmState(_status, _enable, _control); }

    public void RestoreState(AcpiPmState s) { lock (_lock) { (_status, _enable, _control) = (s.Status, s.Enable, s.Control); _sciLevel = false; UpdateSci(); } }
}
