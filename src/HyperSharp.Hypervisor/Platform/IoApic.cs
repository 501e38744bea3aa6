namespace HyperSharp.Hypervisor.Platform;

/// <summary>
/// An 82093AA-style I/O APIC with 24 inputs (GSIs 0-23) at 0xFEC00000, for backends without one:
/// redirection entries (vector, delivery and destination mode, polarity, trigger, mask), edge and
/// level inputs, Remote IRR cleared by the local APIC's EOI (or the EOI register), and re-delivery
/// of a level input still asserted.
/// </summary>
public sealed class IoApic
{
    public const ulong DefaultBase = 0xFEC0_0000;
    public const int Pins = 24;
    private const ulong Masked = 1UL << 16, LevelTrigger = 1UL << 15, RemoteIrr = 1UL << 14, DestinationLogical = 1UL << 11;

    private readonly object _lock = new();
    private readonly ApicBus _bus;
    private readonly ulong[] _redirection = new ulong[Pins];
    private readonly bool[] _lines = new bool[Pins];
    private uint _select, _id;

    public IoApic(ApicBus bus, byte id = 0xFE)
    {
        _bus = bus;
        _id = (uint)id << 24;
        for (int i = 0; i < Pins; i++) _redirection[i] = Masked;
        bus.LevelEoi += OnEoi;
    }

    /// <summary>Drives input <paramref name="gsi"/> (asserted = active, whatever the programmed polarity).</summary>
    public void SetIrq(int gsi, bool asserted)
    {
        if ((uint)gsi >= Pins) return;
        ApicMessage? deliver = null;
        lock (_lock)
        {
            bool wasAsserted = _lines[gsi];
            _lines[gsi] = asserted;
            ulong entry = _redirection[gsi];
            if (asserted && (entry & Masked) == 0)
            {
                if ((entry & LevelTrigger) == 0 ? !wasAsserted : (entry & RemoteIrr) == 0) deliver = Fire(gsi);
            }
        }
        if (deliver is ApicMessage m) _bus.Send(m);
    }

    /// <summary>Builds the message for a pin and, for level inputs, sets Remote IRR. Caller holds the lock.</summary>
    private ApicMessage Fire(int pin)
    {
        ulong e = _redirection[pin];
        if ((e & LevelTrigger) != 0) _redirection[pin] |= RemoteIrr;
        return new ApicMessage((uint)(e >> 56), (e & DestinationLogical) != 0, (byte)e, (DeliveryMode)((e >> 8) & 7), (e & LevelTrigger) != 0);
    }

    private void OnEoi(byte vector)
    {
        var redeliver = new List<ApicMessage>();
        lock (_lock)
        {
            for (int pin = 0; pin < Pins; pin++)
            {
                ulong e = _redirection[pin];
                if ((byte)e != vector || (e & RemoteIrr) == 0) continue;
                _redirection[pin] &= ~RemoteIrr;
                if (_lines[pin] && (e & Masked) == 0) redeliver.Add(Fire(pin));
            }
        }
        foreach (var m in redeliver) _bus.Send(m);
    }

    public uint Read(ulong offset)
    {
        lock (_lock)
        {
            if (offset == 0x00) return _select;
            if (offset != 0x10) return 0;
            return _select switch
            {
                0x00 => _id,
                0x01 => 0x0017_0011, // version 0x11, 24 entries
                0x02 => _id,
                >= 0x10 and < 0x10 + 2 * Pins => (uint)(_redirection[(_select - 0x10) / 2] >> (int)(32 * ((_select - 0x10) % 2))),
                _ => 0,
            };
        }
    }

    public void Write(ulong offset, uint value)
    {
        if (offset == 0x40) { OnEoi((byte)value); return; } // directed EOI register
        ApicMessage? deliver = null;
        lock (_lock)
        {
            if (offset == 0x00) { _select = value & 0xFF; return; }
            if (offset != 0x10) return;
            if (_select == 0x00) { _id = value & 0x0F00_0000; return; }
            if (_select is < 0x10 or >= 0x10 + 2 * Pins) return;
            int pin = (int)(_select - 0x10) / 2;
            bool high = (_select - 0x10) % 2 == 1;
            ulong keep = _redirection[pin] & (RemoteIrr | 1UL << 12); // read-only bits stay
            ulong e = high ? (_redirection[pin] & 0xFFFF_FFFFUL) | (ulong)value << 32 : (_redirection[pin] & 0xFFFF_FFFF_0000_0000UL) | value;
            _redirection[pin] = (e & ~(RemoteIrr | 1UL << 12)) | keep;
            // Unmasking a level input that is still asserted delivers it now.
            if (!high && _lines[pin] && (e & Masked) == 0 && (e & LevelTrigger) != 0 && (keep & RemoteIrr) == 0) deliver = Fire(pin);
        }
        if (deliver is ApicMessage m) _bus.Send(m);
    }

    public IoApicState SaveState() { lock (_lock) return new IoApicState((ulong[])_redirection.Clone(), (bool[])_lines.Clone(), _select, _id); }

    public void RestoreState(IoApicState s)
    {
        lock (_lock)
        {
            s.Redirection.AsSpan(0, Math.Min(Pins, s.Redirection.Length)).CopyTo(_redirection);
            s.Lines.AsSpan(0, Math.Min(Pins, s.Lines.Length)).CopyTo(_lines);
            (_select, _id) = (s.Select, s.Id);
        }
    }
}
