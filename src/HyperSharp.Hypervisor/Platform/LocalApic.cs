using System.Buffers.Binary;

namespace HyperSharp.Hypervisor.Platform;

/// <summary>
/// A local APIC (xAPIC registers at 0xFEE00000 and the x2APIC MSRs), for backends without one:
/// IRR/ISR/TMR with priority (TPR/PPR), EOI (level EOIs go back to the I/O APIC), the LVT timer in
/// one-shot, periodic and TSC-deadline modes, and IPIs including INIT and START-UP for SMP bring-up.
/// Interrupts may arrive from any thread; <see cref="Kick"/> then wakes the vCPU. Intel SDM vol. 3, ch. 10.
/// </summary>
public sealed class LocalApic
{
    public const ulong DefaultBase = 0xFEE0_0000;
    private const int IdRegister = 0x20, VersionRegister = 0x30, Tpr = 0x80, Apr = 0x90, Ppr = 0xA0, Eoi = 0xB0, Ldr = 0xD0, Dfr = 0xE0, Svr = 0xF0,
        Isr = 0x100, Tmr = 0x180, Irr = 0x200, Esr = 0x280, IcrLow = 0x300, IcrHigh = 0x310, LvtTimer = 0x320, LvtThermal = 0x330,
        LvtPerf = 0x340, LvtLint0 = 0x350, LvtLint1 = 0x360, LvtError = 0x370, InitialCount = 0x380, CurrentCount = 0x390, DivideConfig = 0x3E0;
    private const uint Masked = 1 << 16;

    private readonly object _lock = new();
    private readonly byte[] _regs = new byte[0x400];
    private readonly ApicBus _bus;
    private readonly Func<long> _nanoseconds;
    private readonly Func<ulong> _tsc;
    private readonly long _timerHz;
    private long _timerStart;
    private ulong _tscDeadline;
    private bool _nmiPending, _initPending;
    private int _sipiVector = -1;

    /// <param name="timerHz">Frequency the timer counts at before the divider (the "bus clock" Linux reads from CPUID or calibrates).</param>
    public LocalApic(int id, ApicBus bus, Func<long> nanoseconds, Func<ulong> tsc, long timerHz = 1_000_000_000)
    {
        Id = id;
        _bus = bus;
        _nanoseconds = nanoseconds;
        _tsc = tsc;
        _timerHz = timerHz;
        Reset();
        bus.Attach(this);
    }

    /// <summary>The APIC ID (also the vCPU index).</summary>
    public int Id { get; }

    /// <summary>Called (from any thread) when something became deliverable: wake the vCPU or end its current block.</summary>
    public Action? Kick { get; set; }

    internal int TaskPriority { get { lock (_lock) return (int)R(Tpr) & 0xFF; } }

    /// <summary>Power-on/INIT state: everything masked, software-disabled, ID kept.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            Array.Clear(_regs);
            W(IdRegister, (uint)Id << 24);
            W(VersionRegister, 0x0005_0014);
            W(Dfr, 0xFFFF_FFFF);
            W(Svr, 0xFF);
            foreach (int lvt in new[] { LvtTimer, LvtThermal, LvtPerf, LvtLint0, LvtLint1, LvtError }) W(lvt, Masked);
            _tscDeadline = 0;
            _nmiPending = false;
        }
    }

    public bool SoftwareEnabled { get { lock (_lock) return (R(Svr) & 0x100) != 0; } }

    internal bool Matches(uint destination, bool logical)
    {
        lock (_lock)
        {
            if (!logical) return destination == ApicMessage.Broadcast || destination == (uint)Id;
            uint ldr = R(Ldr) >> 24;
            if ((R(Dfr) >> 28) == 0xF) return (ldr & destination) != 0;                                // flat
            return (ldr >> 4) == (destination >> 4) && (ldr & destination & 0xF) != 0 || destination == 0xFF; // cluster
        }
    }

    /// <summary>Takes an interrupt message addressed to this APIC.</summary>
    public void Accept(ApicMessage m)
    {
        lock (_lock)
        {
            switch (m.Mode)
            {
                case DeliveryMode.Fixed or DeliveryMode.LowestPriority:
                    if (m.Vector < 16) { SetBit(Esr, 6); break; } // illegal vector: "received illegal vector" error
                    SetBit(Irr, m.Vector);
                    if (m.LevelTriggered) SetBit(Tmr, m.Vector); else ClearBit(Tmr, m.Vector);
                    break;
                case DeliveryMode.Nmi: _nmiPending = true; break;
                case DeliveryMode.Init: _initPending = true; break;
                case DeliveryMode.StartUp: _sipiVector = m.Vector; break;
                case DeliveryMode.ExtInt: ExtIntPending = true; break;
            }
        }
        Kick?.Invoke();
    }

    /// <summary>An interrupt from the 8259 PIC is waiting (delivered through LINT0 in ExtINT mode).</summary>
    public bool ExtIntPending { get; set; }

    /// <summary>Takes a pending NMI, if any.</summary>
    public bool TakeNmi() { lock (_lock) { bool n = _nmiPending; _nmiPending = false; return n; } }

    /// <summary>Takes a pending INIT (the vCPU resets to wait-for-SIPI).</summary>
    public bool TakeInit() { lock (_lock) { bool i = _initPending; _initPending = false; return i; } }

    /// <summary>Takes a START-UP vector (-1 when none): the vCPU starts in real mode at vector × 4 KiB.</summary>
    public int TakeStartup() { lock (_lock) { int v = _sipiVector; _sipiVector = -1; return v; } }

    /// <summary>The vector to deliver now, or -1: the highest IRR vector whose priority class beats the PPR.</summary>
    public int PendingVector()
    {
        lock (_lock)
        {
            PollTimer();
            if ((R(Svr) & 0x100) == 0) return -1;
            int irr = Highest(Irr);
            return irr >= 0 && (irr >> 4) > (ProcessorPriority() >> 4) ? irr : -1;
        }
    }

    /// <summary>The CPU took <paramref name="vector"/>: IRR to ISR (INTA cycle).</summary>
    public void Acknowledge(int vector)
    {
        lock (_lock) { ClearBit(Irr, vector); SetBit(Isr, vector); }
    }

    private int ProcessorPriority()
    {
        int tpr = (int)R(Tpr) & 0xFF, isr = Math.Max(Highest(Isr), 0);
        return (tpr >> 4) >= (isr >> 4) ? tpr : isr & 0xF0;
    }

    public uint Read(int offset)
    {
        lock (_lock)
        {
            offset &= 0xFF0;
            return offset switch
            {
                Ppr => (uint)ProcessorPriority(),
                CurrentCount => CurrentTimerCount(),
                IcrLow => R(IcrLow) & ~(1u << 12), // delivery status: always idle, IPIs are delivered at once
                _ => offset < _regs.Length ? R(offset) : 0,
            };
        }
    }

    public void Write(int offset, uint value)
    {
        ApicMessage? ipi = null;
        IpiShorthand shorthand = IpiShorthand.None;
        byte? levelEoi = null;
        lock (_lock)
        {
            offset &= 0xFF0;
            switch (offset)
            {
                case IdRegister: W(IdRegister, value & 0xFF00_0000); break;
                case Tpr: W(Tpr, value & 0xFF); break;
                case Ldr: W(Ldr, value & 0xFF00_0000); break;
                case Dfr: W(Dfr, value | 0x0FFF_FFFF); break;
                case Svr: W(Svr, value & 0x13FF); break;
                case Esr: W(Esr, 0); break;
                case Eoi:
                    int vector = Highest(Isr);
                    if (vector < 0) break;
                    ClearBit(Isr, vector);
                    if (TestBit(Tmr, vector) && (R(Svr) & 0x1000) == 0) levelEoi = (byte)vector;
                    break;
                case IcrHigh: W(IcrHigh, value & 0xFF00_0000); break;
                case IcrLow:
                    W(IcrLow, value);
                    (ipi, shorthand) = DecodeIcr(value, R(IcrHigh) >> 24);
                    break;
                case LvtTimer:
                    W(LvtTimer, value & 0x7_00FF);
                    break;
                case LvtThermal or LvtPerf or LvtLint0 or LvtLint1 or LvtError:
                    W(offset, value & 0x1_F7FF);
                    break;
                case InitialCount:
                    W(InitialCount, value);
                    _timerStart = _nanoseconds();
                    break;
                case DivideConfig: W(DivideConfig, value & 0xB); break;
            }
        }
        if (levelEoi is byte v) _bus.RaiseLevelEoi(v);
        if (ipi is ApicMessage message) _bus.Send(message, this, shorthand);
    }

    private static (ApicMessage?, IpiShorthand) DecodeIcr(uint low, uint destination)
    {
        var mode = (DeliveryMode)((low >> 8) & 7);
        bool level = (low & (1 << 15)) != 0, assert = (low & (1 << 14)) != 0;
        if (mode == DeliveryMode.Init && level && !assert) return (null, IpiShorthand.None); // INIT level de-assert: no-op on modern CPUs
        var message = new ApicMessage(destination, (low & (1 << 11)) != 0, (byte)low, mode, level);
        return (message, (IpiShorthand)((low >> 18) & 3));
    }

    /// <summary>x2APIC MSR read (0x800-0x8FF); the register is (msr - 0x800) × 16.</summary>
    public ulong ReadMsr(uint msr) => msr == 0x830 ? Read(IcrLow) | (ulong)Read(IcrHigh) << 32 : Read((int)(msr - 0x800) << 4);

    public void WriteMsr(uint msr, ulong value)
    {
        if (msr == 0x830) { Write(IcrHigh, (uint)(value >> 32) << 24); Write(IcrLow, (uint)value); return; }
        Write((int)(msr - 0x800) << 4, (uint)value);
    }

    /// <summary>IA32_TSC_DEADLINE.</summary>
    public ulong TscDeadline
    {
        get { lock (_lock) return _tscDeadline; }
        set { lock (_lock) _tscDeadline = value; Kick?.Invoke(); }
    }

    private int TimerMode => (int)(R(LvtTimer) >> 17) & 3;

    private long Divider
    {
        get
        {
            uint d = R(DivideConfig);
            int code = (int)((d & 3) | ((d >> 1) & 4));
            return code == 7 ? 1 : 2L << code;
        }
    }

    private uint CurrentTimerCount()
    {
        uint initial = R(InitialCount);
        if (initial == 0 || TimerMode == 2) return 0;
        long ticks = ElapsedTicks();
        if (TimerMode == 1) return (uint)(initial - ticks % initial);
        return ticks >= initial ? 0 : (uint)(initial - ticks);
    }

    private long ElapsedTicks() => (long)((Int128)(_nanoseconds() - _timerStart) * _timerHz / (1_000_000_000L * Divider));

    /// <summary>Fires the timer if it expired (called under the lock before looking for interrupts).</summary>
    private void PollTimer()
    {
        uint lvt = R(LvtTimer);
        switch (TimerMode)
        {
            case 2 when _tscDeadline != 0 && _tsc() >= _tscDeadline:
                _tscDeadline = 0;
                if ((lvt & Masked) == 0) SetBit(Irr, (int)(lvt & 0xFF));
                break;
            case 0 or 1 when R(InitialCount) != 0:
                long ticks = ElapsedTicks();
                uint initial = R(InitialCount);
                if (ticks < initial) break;
                if (TimerMode == 1) _timerStart += (long)((Int128)(ticks / initial) * initial * 1_000_000_000L * Divider / _timerHz);
                else W(InitialCount, 0); // one-shot: done
                if ((lvt & Masked) == 0) SetBit(Irr, (int)(lvt & 0xFF));
                break;
        }
    }

    /// <summary>When the timer next fires (host nanoseconds), so a halted vCPU knows how long it may sleep; null if never.</summary>
    public long? NextTimerNanoseconds(Func<ulong, long> tscToNanoseconds)
    {
        lock (_lock)
        {
            if ((R(LvtTimer) & Masked) != 0) return null;
            if (TimerMode == 2) return _tscDeadline == 0 ? null : tscToNanoseconds(_tscDeadline);
            uint initial = R(InitialCount);
            if (initial == 0) return null;
            long remaining = CurrentTimerCount();
            return _nanoseconds() + (long)((Int128)remaining * 1_000_000_000L * Divider / _timerHz);
        }
    }

    public LocalApicState SaveState() { lock (_lock) return new LocalApicState((byte[])_regs.Clone(), _timerStart - _nanoseconds(), _tscDeadline, _nmiPending, _initPending, _sipiVector); }

    public void RestoreState(LocalApicState s)
    {
        lock (_lock)
        {
            s.Registers.AsSpan(0, Math.Min(s.Registers.Length, _regs.Length)).CopyTo(_regs);
            _timerStart = _nanoseconds() + s.TimerStartNanoseconds; // saved relative to "now", so a restored timer keeps its remaining time
            (_tscDeadline, _nmiPending, _initPending, _sipiVector) = (s.TscDeadline, s.NmiPending, s.InitPending, s.SipiVector);
        }
    }

    private uint R(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(_regs.AsSpan(offset));
    private void W(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(_regs.AsSpan(offset), value);
    private bool TestBit(int bank, int v) => (_regs[bank + (v >> 5) * 16 + ((v & 31) >> 3)] & (1 << (v & 7))) != 0;
    private void SetBit(int bank, int v) => _regs[bank + (v >> 5) * 16 + ((v & 31) >> 3)] |= (byte)(1 << (v & 7));
    private void ClearBit(int bank, int v) => _regs[bank + (v >> 5) * 16 + ((v & 31) >> 3)] &= (byte)~(1 << (v & 7));

    /// <summary>Highest set vector in a 256-bit bank (eight 32-bit registers 16 bytes apart), or -1.</summary>
    private int Highest(int bank)
    {
        for (int reg = 7; reg >= 0; reg--)
        {
            uint bits = R(bank + reg * 16);
            if (bits != 0) return reg * 32 + 31 - System.Numerics.BitOperations.LeadingZeroCount(bits);
        }
        return -1;
    }
}
