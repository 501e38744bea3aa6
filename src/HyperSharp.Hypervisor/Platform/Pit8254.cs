namespace HyperSharp.Hypervisor.Platform;

/// <summary>
/// The 8254 programmable interval timer (ports 0x40-0x43) and port 0x61 (channel 2 gate and output),
/// for backends without one. Counters run from a 1.193182 MHz clock derived from host time; channel
/// 0's output raises IRQ 0 (one-shot in mode 0, periodic in modes 2 and 3), which
/// <see cref="Poll"/> checks. Linux uses channel 0 to verify the timer interrupt through the I/O APIC
/// and channel 2 to calibrate the TSC when it does not know its frequency.
/// </summary>
public sealed class Pit8254(Action<bool> irq0, Func<long> nanoseconds)
{
    public const long Frequency = 1_193_182;

    private sealed class Channel
    {
        public int Mode, Access = 3, ReloadValue = 0x10000;
        public long Start = long.MinValue;
        public bool Latched, ReadHigh, WriteHigh, Armed;
        public ushort LatchValue;
        public byte LowByte;
        public long NextFire;
    }

    private readonly object _lock = new();
    private readonly Channel[] _channels = [new(), new(), new()];
    private bool _gate2;

    private long Ticks(Channel c) => (long)((Int128)(nanoseconds() - c.Start) * Frequency / 1_000_000_000);

    private long NanosFor(long ticks) => (long)((Int128)ticks * 1_000_000_000 / Frequency);

    private ushort Count(Channel c)
    {
        if (c.Start == long.MinValue) return 0;
        long t = Ticks(c);
        return c.Mode is 2 or 3 ? (ushort)(c.ReloadValue - t % c.ReloadValue) : (ushort)Math.Max(0, c.ReloadValue - t);
    }

    private bool Output(Channel c)
    {
        if (c.Start == long.MinValue) return c.Mode != 0;
        long t = Ticks(c);
        return c.Mode switch
        {
            0 => t >= c.ReloadValue,
            2 => t % c.ReloadValue != c.ReloadValue - 1,
            3 => t % c.ReloadValue < (c.ReloadValue + 1) / 2,
            _ => true,
        };
    }

    public byte Read(int port)
    {
        lock (_lock)
        {
            if (port == 0x61) return (byte)((_gate2 ? 1 : 0) | (Output(_channels[2]) ? 0x20 : 0));
            if (port is < 0x40 or > 0x42) return 0xFF;
            var c = _channels[port - 0x40];
            ushort value = c.Latched ? c.LatchValue : Count(c);
            byte result;
            switch (c.Access)
            {
                case 1: result = (byte)value; c.Latched = false; break;
                case 2: result = (byte)(value >> 8); c.Latched = false; break;
                default:
                    result = c.ReadHigh ? (byte)(value >> 8) : (byte)value;
                    if (c.ReadHigh) c.Latched = false;
                    c.ReadHigh = !c.ReadHigh;
                    break;
            }
            return result;
        }
    }

    public void Write(int port, byte value)
    {
        lock (_lock)
        {
            if (port == 0x61) { _gate2 = (value & 1) != 0; if (_gate2) _channels[2].Start = nanoseconds(); return; }
            if (port == 0x43) { Control(value); return; }
            if (port is < 0x40 or > 0x42) return;
            var c = _channels[port - 0x40];
            switch (c.Access)
            {
                case 1: Load(c, value); break;
                case 2: Load(c, value << 8); break;
                default:
                    if (!c.WriteHigh) { c.LowByte = value; c.WriteHigh = true; }
                    else { c.WriteHigh = false; Load(c, c.LowByte | value << 8); }
                    break;
            }
        }
    }

    private void Control(byte value)
    {
        int channel = value >> 6;
        if (channel == 3) // read-back: latch the selected counts
        {
            for (int i = 0; i < 3; i++)
                if ((value & (2 << i)) != 0 && (value & 0x20) == 0) Latch(_channels[i]);
            return;
        }
        var c = _channels[channel];
        int access = (value >> 4) & 3;
        if (access == 0) { Latch(c); return; }
        c.Access = access;
        c.Mode = (value >> 1) & 7;
        if (c.Mode > 5) c.Mode -= 4; // modes 6 and 7 are 2 and 3
        c.ReadHigh = c.WriteHigh = false;
        c.Start = long.MinValue;
        c.Armed = false;
    }

    private void Latch(Channel c)
    {
        if (c.Latched) return;
        c.LatchValue = Count(c);
        c.Latched = true;
        c.ReadHigh = false;
    }

    private void Load(Channel c, int count)
    {
        c.ReloadValue = count == 0 ? 0x10000 : count;
        c.Start = nanoseconds();
        c.Armed = true;
        c.NextFire = c.Start + NanosFor(c.ReloadValue);
    }

    /// <summary>Raises IRQ 0 when channel 0 reached its terminal count since the last poll (edges coalesce, as lost ticks do on hardware under load).</summary>
    public void Poll()
    {
        bool fire = false;
        lock (_lock)
        {
            var c = _channels[0];
            long now = nanoseconds();
            if (!c.Armed || now < c.NextFire) return;
            fire = true;
            if (c.Mode is 2 or 3)
            {
                long period = Math.Max(NanosFor(c.ReloadValue), 1);
                c.NextFire += ((now - c.NextFire) / period + 1) * period;
            }
            else c.Armed = false;
        }
        if (fire) { irq0(true); irq0(false); }
    }

    public (PitChannelState[] Channels, bool Gate2) SaveState()
    {
        lock (_lock)
        {
            long now = nanoseconds();
            return (_channels.Select(c => new PitChannelState(c.Mode, c.Access, c.ReloadValue, c.Start == long.MinValue ? null : now - c.Start,
                c.Latched, c.ReadHigh, c.WriteHigh, c.Armed, c.LatchValue, c.LowByte, c.NextFire - now)).ToArray(), _gate2);
        }
    }

    public void RestoreState(PitChannelState[] channels, bool gate2)
    {
        lock (_lock)
        {
            long now = nanoseconds();
            for (int i = 0; i < 3 && i < channels.Length; i++)
            {
                var (c, x) = (_channels[i], channels[i]);
                (c.Mode, c.Access, c.ReloadValue, c.Latched, c.ReadHigh, c.WriteHigh, c.Armed, c.LatchValue, c.LowByte) =
                    (x.Mode, x.Access, Math.Clamp(x.ReloadValue, 1, 0x10000), x.Latched, x.ReadHigh, x.WriteHigh, x.Armed, x.LatchValue, x.LowByte);
                c.Start = x.StartAgo is long ago ? now - ago : long.MinValue;
                c.NextFire = now + x.NextFireIn;
            }
            _gate2 = gate2;
        }
    }

    /// <summary>When channel 0 next fires (host nanoseconds), or null.</summary>
    public long? NextEventNanoseconds() { lock (_lock) return _channels[0].Armed ? _channels[0].NextFire : null; }
}
