namespace HyperSharp.Machine.Devices.Rtc;

/// <summary>
/// The MC146818 CMOS real-time clock at ports 0x70 (index) and 0x71 (data). It tells the guest the
/// host's time (UTC); when the guest sets the clock, the difference is kept as an offset, so time
/// keeps running. Registers A-D, BCD or binary and 12/24-hour modes follow the data sheet.
/// </summary>
public sealed class CmosRtc(Func<DateTimeOffset>? clock = null) : IPortIoDevice
{
    private const int Seconds = 0x00, Minutes = 0x02, Hours = 0x04, DayOfWeek = 0x06, Day = 0x07, Month = 0x08, Year = 0x09;
    private const int StatusA = 0x0A, StatusB = 0x0B, StatusC = 0x0C, StatusD = 0x0D, Century = 0x32;
    private const byte BinaryMode = 0x04, Hours24 = 0x02, SetBit = 0x80, ValidRam = 0x80;

    private readonly object _lock = new();
    private readonly Func<DateTimeOffset> _clock = clock ?? (() => DateTimeOffset.UtcNow);
    private readonly byte[] _cmos = InitialCmos();
    private byte _index;
    private long _offsetSeconds;

    public string Name => "rtc";

    private static byte[] InitialCmos()
    {
        var cmos = new byte[128];
        cmos[StatusA] = 0x26;            // 32.768 kHz time base, 1.024 kHz rate
        cmos[StatusB] = Hours24;         // 24-hour, BCD: what a PC BIOS leaves
        cmos[StatusD] = ValidRam;
        return cmos;
    }

    public void Read(ulong offset, Span<byte> data)
    {
        data.Fill(0);
        lock (_lock) data[0] = offset == 0 ? _index : ReadRegister(_index);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            if (offset == 0) _index = (byte)(data[0] & 0x7F); // bit 7 is the NMI mask
            else WriteRegister(_index, data[0]);
        }
    }

    private DateTimeOffset GuestTime => _clock().AddSeconds(_offsetSeconds);

    private byte ReadRegister(int index)
    {
        if (index is StatusC) { byte c = _cmos[StatusC]; _cmos[StatusC] = 0; return c; }
        if (index is StatusA) return (byte)(_cmos[StatusA] & 0x7F); // update-in-progress never shows: time is computed on read
        if ((_cmos[StatusB] & SetBit) != 0 || !IsClockRegister(index)) return _cmos[index];
        var t = GuestTime;
        int value = index switch
        {
            Seconds => t.Second, Minutes => t.Minute, DayOfWeek => (int)t.DayOfWeek + 1, Day => t.Day, Month => t.Month,
            Year => t.Year % 100, Century => t.Year / 100,
            _ => HourValue(t.Hour),
        };
        return Encode(value, index == Hours);
    }

    private int HourValue(int hour)
    {
        if ((_cmos[StatusB] & Hours24) != 0) return hour;
        int h12 = hour % 12 == 0 ? 12 : hour % 12;
        return hour >= 12 ? h12 | 0x80 : h12; // PM flag in bit 7, kept through BCD encoding below
    }

    private byte Encode(int value, bool isHour)
    {
        int pm = isHour ? value & 0x80 : 0;
        value &= 0x7F;
        int encoded = (_cmos[StatusB] & BinaryMode) != 0 ? value : (value / 10 << 4) | (value % 10);
        return (byte)(encoded | pm);
    }

    private int Decode(byte raw, bool isHour)
    {
        int pm = isHour ? raw & 0x80 : 0;
        int v = raw & (isHour ? 0x7F : 0xFF);
        int value = (_cmos[StatusB] & BinaryMode) != 0 ? v : (v >> 4) * 10 + (v & 0x0F);
        if (isHour && (_cmos[StatusB] & Hours24) == 0) value = value % 12 + (pm != 0 ? 12 : 0);
        return value;
    }

    private static bool IsClockRegister(int index) => index is Seconds or Minutes or Hours or DayOfWeek or Day or Month or Year or Century;

    private void WriteRegister(int index, byte value)
    {
        if (index is StatusC or StatusD) return; // read-only
        if (index == StatusB && (_cmos[StatusB] & SetBit) != 0 && (value & SetBit) == 0)
        {
            _cmos[StatusB] = value;
            CommitGuestTime(); // the guest finished setting the clock
            return;
        }
        if (IsClockRegister(index) && (_cmos[StatusB] & SetBit) == 0)
        {
            // Writing one field while the clock runs: snapshot the time, change the field, commit.
            SnapshotTime();
            _cmos[index] = value;
            CommitGuestTime();
            return;
        }
        if (index == StatusB && (value & SetBit) != 0 && (_cmos[StatusB] & SetBit) == 0) SnapshotTime();
        _cmos[index] = value;
    }

    private void SnapshotTime()
    {
        var t = GuestTime;
        foreach (int r in new[] { Seconds, Minutes, Hours, DayOfWeek, Day, Month, Year, Century })
            _cmos[r] = ReadRegisterUnlocked(r, t);
    }

    private byte ReadRegisterUnlocked(int index, DateTimeOffset t) => index switch
    {
        Seconds => Encode(t.Second, false), Minutes => Encode(t.Minute, false), Hours => Encode(HourValue(t.Hour), true),
        DayOfWeek => Encode((int)t.DayOfWeek + 1, false), Day => Encode(t.Day, false), Month => Encode(t.Month, false),
        Year => Encode(t.Year % 100, false), _ => Encode(t.Year / 100, false),
    };

    private void CommitGuestTime()
    {
        try
        {
            int century = _cmos[Century] == 0 ? 20 : Decode(_cmos[Century], false);
            var set = new DateTimeOffset(century * 100 + Decode(_cmos[Year], false), Decode(_cmos[Month], false), Decode(_cmos[Day], false),
                Decode(_cmos[Hours], true), Decode(_cmos[Minutes], false), Decode(_cmos[Seconds], false), TimeSpan.Zero);
            _offsetSeconds = (long)(set - _clock()).TotalSeconds;
        }
        catch (ArgumentOutOfRangeException) { } // an impossible date: keep running on the old offset, as a real chip would misbehave harmlessly
    }

    public CmosRtcState SaveState() { lock (_lock) return new CmosRtcState((byte[])_cmos.Clone(), _index, _offsetSeconds); }

    public void RestoreState(CmosRtcState state)
    {
        lock (_lock)
        {
            state.Cmos.AsSpan(0, Math.Min(128, state.Cmos.Length)).CopyTo(_cmos);
            _index = (byte)(state.Index & 0x7F);
            _offsetSeconds = state.OffsetSeconds;
        }
    }
}
