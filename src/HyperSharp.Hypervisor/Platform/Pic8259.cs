namespace HyperSharp.Hypervisor.Platform;

/// <summary>
/// The cascaded pair of 8259A interrupt controllers (master 0x20/0x21 with IRQs 0-7, slave
/// 0xA0/0xA1 with 8-15 on the master's IRQ 2, ELCR at 0x4D0/0x4D1), for backends without them:
/// initialization words, masks, EOIs (specific and non-specific), IRR/ISR reads, edge and level
/// inputs. With an I/O APIC in use, Linux masks them all; they still answer its probes.
/// </summary>
public sealed class Pic8259
{
    private sealed class Chip
    {
        public byte Irr, Isr, Imr = 0xFF, VectorBase, Elcr, Lines;
        public int InitStep; // 0: ready; 2-4: expecting ICW2-ICW4
        public bool Icw4Needed, ReadIsr, AutoEoi;

        public int Highest(byte bits)
        {
            for (int i = 0; i < 8; i++) if ((bits & (1 << i)) != 0) return i; // priority 0 highest (no rotation)
            return -1;
        }
    }

    private readonly object _lock = new();
    private readonly Chip _master = new(), _slave = new();
    private readonly Action? _notify;

    /// <param name="notify">Called when the master's INT output may have risen (wake the boot vCPU).</param>
    public Pic8259(Action? notify = null) => _notify = notify;

    public void SetIrq(int irq, bool level)
    {
        lock (_lock)
        {
            var chip = irq < 8 ? _master : _slave;
            int bit = 1 << (irq & 7);
            bool was = (chip.Lines & bit) != 0;
            chip.Lines = (byte)(level ? chip.Lines | bit : chip.Lines & ~bit);
            bool levelMode = (chip.Elcr & bit) != 0;
            if (level && (levelMode || !was)) chip.Irr |= (byte)bit;
            if (!level && levelMode) chip.Irr &= (byte)~bit;
            UpdateCascade();
        }
        _notify?.Invoke();
    }

    /// <summary>The slave's INT output drives the master's IRQ 2 as a level.</summary>
    private void UpdateCascade()
    {
        if (Pending(_slave) >= 0) _master.Irr |= 4;
        else _master.Irr &= unchecked((byte)~4);
    }

    /// <summary>The highest unmasked request not blocked by an in-service interrupt of higher or equal priority; -1 if none.</summary>
    private static int Pending(Chip c)
    {
        int irq = c.Highest((byte)(c.Irr & ~c.Imr));
        if (irq < 0) return -1;
        int inService = c.Highest(c.Isr);
        return inService >= 0 && inService <= irq ? -1 : irq;
    }

    /// <summary>True when the master's INT output is asserted.</summary>
    public bool InterruptPending { get { lock (_lock) return Pending(_master) >= 0; } }

    public PicChipState[] SaveState()
    {
        lock (_lock) return [Save(_master), Save(_slave)];
        static PicChipState Save(Chip c) => new(c.Irr, c.Isr, c.Imr, c.VectorBase, c.Elcr, c.Lines, c.InitStep, c.Icw4Needed, c.ReadIsr, c.AutoEoi);
    }

    public void RestoreState(PicChipState[] s)
    {
        lock (_lock)
        {
            if (s.Length != 2) throw new ArgumentException("saved PIC state needs two chips");
            Restore(_master, s[0]);
            Restore(_slave, s[1]);
        }
        static void Restore(Chip c, PicChipState x) =>
            (c.Irr, c.Isr, c.Imr, c.VectorBase, c.Elcr, c.Lines, c.InitStep, c.Icw4Needed, c.ReadIsr, c.AutoEoi) =
            (x.Irr, x.Isr, x.Imr, x.VectorBase, x.Elcr, x.Lines, x.InitStep, x.Icw4Needed, x.ReadIsr, x.AutoEoi);
    }

    /// <summary>The INTA cycle: returns the vector and moves the request into service.</summary>
    public int Acknowledge()
    {
        lock (_lock)
        {
            int irq = Pending(_master);
            if (irq < 0) return _master.VectorBase | 7; // spurious IRQ 7
            Take(_master, irq);
            if (irq != 2) return _master.VectorBase + irq;
            int slaveIrq = Pending(_slave);
            if (slaveIrq < 0) return _slave.VectorBase | 7;
            Take(_slave, slaveIrq);
            UpdateCascade();
            return _slave.VectorBase + slaveIrq;
        }
    }

    private static void Take(Chip c, int irq)
    {
        byte bit = (byte)(1 << irq);
        if ((c.Elcr & bit) == 0) c.Irr &= (byte)~bit; // edge requests are consumed; level ones stay while the line is high
        if (!c.AutoEoi) c.Isr |= bit;
    }

    public byte Read(int port)
    {
        lock (_lock)
        {
            return port switch
            {
                0x20 => _master.ReadIsr ? _master.Isr : _master.Irr,
                0x21 => _master.Imr,
                0xA0 => _slave.ReadIsr ? _slave.Isr : _slave.Irr,
                0xA1 => _slave.Imr,
                0x4D0 => _master.Elcr,
                0x4D1 => _slave.Elcr,
                _ => 0xFF,
            };
        }
    }

    public void Write(int port, byte value)
    {
        lock (_lock)
        {
            switch (port)
            {
                case 0x20: Command(_master, value); break;
                case 0xA0: Command(_slave, value); break;
                case 0x21: Data(_master, value); break;
                case 0xA1: Data(_slave, value); break;
                case 0x4D0: _master.Elcr = (byte)(value & 0xF8); break; // IRQs 0-2 are always edge
                case 0x4D1: _slave.Elcr = (byte)(value & 0xDE); break;  // IRQs 8 and 13 are always edge
            }
            UpdateCascade();
        }
        _notify?.Invoke();
    }

    private static void Command(Chip c, byte value)
    {
        if ((value & 0x10) != 0) // ICW1: start initialization
        {
            c.Imr = 0; c.Isr = 0; c.Irr = 0; c.ReadIsr = false; c.AutoEoi = false;
            c.Icw4Needed = (value & 1) != 0;
            c.InitStep = 2;
            return;
        }
        if ((value & 0x18) == 0x08) { if ((value & 2) != 0) c.ReadIsr = (value & 1) != 0; return; } // OCW3
        int op = value >> 5; // OCW2
        if (op == 1) { int irq = c.Highest(c.Isr); if (irq >= 0) c.Isr &= (byte)~(1 << irq); } // non-specific EOI
        else if (op == 3) c.Isr &= (byte)~(1 << (value & 7));                                   // specific EOI
    }

    private static void Data(Chip c, byte value)
    {
        switch (c.InitStep)
        {
            case 2: c.VectorBase = (byte)(value & 0xF8); c.InitStep = 3; break;
            case 3: c.InitStep = c.Icw4Needed ? 4 : 0; break; // cascade wiring is fixed
            case 4: c.AutoEoi = (value & 2) != 0; c.InitStep = 0; break;
            default: c.Imr = value; break;
        }
    }
}
