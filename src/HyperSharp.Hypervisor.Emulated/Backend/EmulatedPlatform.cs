using System.Diagnostics;
using HyperSharp.Hypervisor.Platform;

namespace HyperSharp.Hypervisor.Emulated.Backend;

/// <summary>
/// The PC platform devices the Emulated backend provides itself (as KVM does in the kernel): a local
/// APIC per vCPU, the I/O APIC, the 8259 pair and the 8254 PIT, wired on one APIC bus, plus the
/// routing of their MMIO and ports. The vCPU threads poll its timers between instruction batches.
/// </summary>
internal sealed class EmulatedPlatform
{
    private readonly object _lock = new();
    private readonly List<LocalApic> _apics = [];
    private readonly bool _timer;

    public EmulatedPlatform(PartitionOptions options)
    {
        Bus = new ApicBus();
        IoApic = new IoApic(Bus);
        Pic = new Pic8259(KickAll);
        _timer = options.IntervalTimer;
        Pit = new Pit8254(level => SetIrq(0, level), Nanoseconds);
    }

    public ApicBus Bus { get; }
    public IoApic IoApic { get; }
    public Pic8259 Pic { get; }
    public Pit8254 Pit { get; }

    public static long Nanoseconds() => (long)((Int128)Stopwatch.GetTimestamp() * 1_000_000_000 / Stopwatch.Frequency);

    public LocalApic AddApic(int id, Func<ulong> tsc)
    {
        var apic = new LocalApic(id, Bus, Nanoseconds, tsc, timerHz: Execution.X86Cpu.TscHz); // CPUID 15h tells the guest the timer runs at the TSC rate
        lock (_lock) _apics.Add(apic);
        return apic;
    }

    /// <summary>Drives a GSI: the I/O APIC always; the PICs for the ISA lines, with IRQ 0 arriving at I/O APIC pin 2 as the MADT says.</summary>
    public void SetIrq(int gsi, bool level)
    {
        IoApic.SetIrq(gsi == 0 ? 2 : gsi, level);
        if (gsi < 16) Pic.SetIrq(gsi, level);
    }

    public void Poll()
    {
        if (_timer) Pit.Poll();
    }

    /// <summary>Nanosecond time of the next PIT event (for a halted vCPU's sleep), or null.</summary>
    public long? NextPlatformEvent() => _timer ? Pit.NextEventNanoseconds() : null;

    private void KickAll()
    {
        LocalApic[] apics;
        lock (_lock) apics = [.. _apics];
        foreach (var a in apics) a.Kick?.Invoke();
    }

    public bool TryPortRead(ushort port, int size, out uint value)
    {
        value = 0;
        switch (port)
        {
            case 0x20 or 0x21 or 0xA0 or 0xA1 or 0x4D0 or 0x4D1: value = Pic.Read(port); return true;
            case >= 0x40 and <= 0x43 or 0x61 when _timer: value = Pit.Read(port); return true;
            default: return false;
        }
    }

    public bool TryPortWrite(ushort port, int size, uint value)
    {
        switch (port)
        {
            case 0x20 or 0x21 or 0xA0 or 0xA1 or 0x4D0 or 0x4D1: Pic.Write(port, (byte)value); return true;
            case >= 0x40 and <= 0x43 or 0x61 when _timer: Pit.Write(port, (byte)value); return true;
            default: return false;
        }
    }

    public bool IsIoApic(ulong address) => address >= IoApic.DefaultBase && address < IoApic.DefaultBase + 0x1000;
}
