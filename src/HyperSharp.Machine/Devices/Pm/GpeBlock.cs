namespace HyperSharp.Machine.Devices.Pm;

/// <summary>
/// The ACPI general-purpose event block GPE0 (the FADT names its ports): 16 events, a status byte pair
/// followed by an enable byte pair. A device raises an event by setting its status bit; while a set
/// status bit is enabled the SCI is asserted. The OS clears status by writing 1s, then runs the
/// event's \_GPE._Exx method (edge semantics: an event raised while the method runs is not lost).
/// </summary>
public sealed class GpeBlock(IInterruptLine sci) : IPortIoDevice
{
    /// <summary>Bytes in the block: status (2) then enable (2), as GPE0_BLK_LEN says.</summary>
    public const int Length = 4;
    private const int EnableOffset = Length / 2;

    private readonly object _lock = new();
    private ushort _status, _enable;
    private bool _sciLevel;

    public string Name => "gpe0";

    /// <summary>Latches event <paramref name="gpe"/> (0-15) and raises the SCI if it is enabled.</summary>
    public void Raise(int gpe)
    {
        if (gpe is < 0 or >= 8 * EnableOffset) throw new ArgumentOutOfRangeException(nameof(gpe));
        lock (_lock) { _status |= (ushort)(1 << gpe); UpdateSci(); }
    }

    public void Read(ulong offset, Span<byte> data)
    {
        uint both;
        lock (_lock) both = (uint)_enable << 16 | _status;
        for (int i = 0; i < data.Length; i++)
        {
            ulong at = offset + (ulong)i;
            data[i] = at < Length ? (byte)(both >> (int)(8 * at)) : (byte)0xFF;
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            for (int i = 0; i < data.Length; i++)
            {
                ulong at = offset + (ulong)i;
                if (at < EnableOffset) _status &= (ushort)~(data[i] << (int)(8 * at));           // write 1 to clear
                else if (at < Length)
                {
                    int shift = (int)(8 * (at - EnableOffset));
                    _enable = (ushort)((_enable & ~(0xFF << shift)) | data[i] << shift);
                }
            }
            UpdateSci();
        }
    }

    private void UpdateSci()
    {
        bool level = (_status & _enable) != 0;
        if (level == _sciLevel) return;
        _sciLevel = level;
        sci.Set(level);
    }

    public GpeBlockState SaveState() { lock (_lock) return new GpeBlockState(_status, _enable); }

    public void RestoreState(GpeBlockState s) { lock (_lock) { (_status, _enable) = (s.Status, s.Enable); UpdateSci(); } }
}
