using HyperSharp.Hypervisor.Platform;

namespace HyperSharp.Hypervisor.Tests;

/// <summary>Software interrupt controllers and timer, driven the way Linux programs them, against a fake clock.</summary>
public class PlatformTests
{
    private long _now = 1_000_000_000;
    private long Now() => _now;
    private ulong Tsc() => (ulong)_now * 2; // a 2 GHz TSC

    private (ApicBus Bus, LocalApic[] Apics) Apics(int count)
    {
        var bus = new ApicBus();
        var apics = Enumerable.Range(0, count).Select(i => new LocalApic(i, bus, Now, Tsc)).ToArray();
        foreach (var a in apics) a.Write(0xF0, 0x1FF); // software enable, spurious vector 0xFF
        return (bus, apics);
    }

    [Fact]
    public void FixedInterruptsRespectPriorityAndEoi()
    {
        var (bus, apics) = Apics(1);
        var apic = apics[0];
        bus.Send(new ApicMessage(0, false, 0x41, DeliveryMode.Fixed, false));
        bus.Send(new ApicMessage(0, false, 0x61, DeliveryMode.Fixed, false));
        Assert.Equal(0x61, apic.PendingVector());
        apic.Acknowledge(0x61);
        Assert.Equal(-1, apic.PendingVector());            // 0x41 is a lower class than the one in service
        apic.Write(0xB0, 0);                                // EOI
        Assert.Equal(0x41, apic.PendingVector());
        apic.Write(0x80, 0x50);                             // TPR 0x50 blocks class 4
        Assert.Equal(-1, apic.PendingVector());
        Assert.Equal(0x50u, apic.Read(0xA0));               // PPR follows TPR
    }

    [Fact]
    public void TimerOneShotPeriodicAndTscDeadlineFire()
    {
        var (_, apics) = Apics(1);
        var apic = apics[0];
        apic.Write(0x3E0, 0xB);                             // divide by 1
        apic.Write(0x320, 0x30);                            // one-shot, vector 0x30
        apic.Write(0x380, 1000);                            // 1000 ticks at 1 GHz = 1 us
        _now += 500;
        Assert.Equal(-1, apic.PendingVector());
        Assert.InRange(apic.Read(0x390), 400u, 600u);
        _now += 600;
        Assert.Equal(0x30, apic.PendingVector());
        apic.Acknowledge(0x30); apic.Write(0xB0, 0);
        _now += 5000;
        Assert.Equal(-1, apic.PendingVector());             // one-shot: once
        apic.Write(0x320, (1 << 17) | 0x31);                // periodic
        apic.Write(0x380, 1000);
        for (int i = 0; i < 3; i++)
        {
            _now += 1000;
            Assert.Equal(0x31, apic.PendingVector());
            apic.Acknowledge(0x31); apic.Write(0xB0, 0);
        }
        apic.Write(0x320, (2 << 17) | 0x32);                // TSC deadline
        apic.TscDeadline = Tsc() + 4000;
        _now += 1000;
        Assert.Equal(-1, apic.PendingVector());
        _now += 1500;
        Assert.Equal(0x32, apic.PendingVector());
    }

    [Fact]
    public void IpisInitAndStartupReachTheirTargets()
    {
        var (_, apics) = Apics(3);
        int kicks = 0;
        apics[2].Kick = () => kicks++;
        apics[0].Write(0x310, 2u << 24);
        apics[0].Write(0x300, 0x4500);                      // INIT, assert, to APIC 2
        apics[0].Write(0x300, 0x4608);                      // START-UP vector 0x08
        Assert.True(apics[2].TakeInit());
        Assert.Equal(0x08, apics[2].TakeStartup());
        Assert.False(apics[1].TakeInit());
        Assert.Equal(2, kicks);
        apics[1].Write(0x300, (3u << 18) | 0x4F);           // fixed 0x4F to all but self
        Assert.Equal(0x4F, apics[0].PendingVector());
        Assert.Equal(0x4F, apics[2].PendingVector());
        Assert.Equal(-1, apics[1].PendingVector());
        apics[2].Write(0xD0, 0x04u << 24);                  // logical flat: APIC 2 answers mask bit 2
        apics[0].Write(0x310, 0x04u << 24);
        apics[0].Write(0x300, 0x0800 | 0x55);
        Assert.Equal(0x55, apics[2].PendingVector());
    }

    [Fact]
    public void IoApicDeliversEdgeAndLevelWithRemoteIrr()
    {
        var (bus, apics) = Apics(2);
        var ioapic = new IoApic(bus);
        void Route(int pin, uint low, uint dest) { ioapic.Write(0, (uint)(0x10 + 2 * pin)); ioapic.Write(0x10, low); ioapic.Write(0, (uint)(0x11 + 2 * pin)); ioapic.Write(0x10, dest << 24); }
        ioapic.Write(0, 1);
        Assert.Equal(0x170011u, ioapic.Read(0x10));
        Route(4, 0x34, 1);                                  // edge, vector 0x34, to APIC 1
        ioapic.SetIrq(4, true); ioapic.SetIrq(4, false);
        Assert.Equal(0x34, apics[1].PendingVector());
        Route(9, 0x39 | (1 << 15), 0);                      // level, vector 0x39, to APIC 0
        ioapic.SetIrq(9, true);
        Assert.Equal(0x39, apics[0].PendingVector());
        apics[0].Acknowledge(0x39);
        apics[0].Write(0xB0, 0);                            // EOI while the line is still high: delivered again
        Assert.Equal(0x39, apics[0].PendingVector());
        apics[0].Acknowledge(0x39);
        ioapic.SetIrq(9, false);
        apics[0].Write(0xB0, 0);
        Assert.Equal(-1, apics[0].PendingVector());
        var msi = ApicMessage.FromMsi(0xFEE0_1000, 0xC061); // bit 15: level trigger, bit 14: assert
        Assert.Equal((1u, (byte)0x61, DeliveryMode.Fixed, true), (msi.Destination, msi.Vector, msi.Mode, msi.LevelTriggered));
    }

    [Fact]
    public void PitRaisesIrq0PeriodicallyAndChannel2CountsDown()
    {
        int edges = 0;
        var pit = new Pit8254(level => { if (level) edges++; }, Now);
        pit.Write(0x43, 0x34);                              // channel 0, lo/hi, mode 2
        pit.Write(0x40, 0x9C); pit.Write(0x40, 0x2E);       // 11932 ticks = 10 ms
        _now += 5_000_000; pit.Poll();
        Assert.Equal(0, edges);
        _now += 5_100_000; pit.Poll();
        Assert.Equal(1, edges);
        _now += 10_000_000; pit.Poll();
        Assert.Equal(2, edges);
        pit.Write(0x43, 0x00);                              // latch channel 0
        int count = pit.Read(0x40) | pit.Read(0x40) << 8;
        Assert.InRange(count, 1, 11932);
        pit.Write(0x61, 1);                                 // gate channel 2 on
        pit.Write(0x43, 0xB0);                              // channel 2, lo/hi, mode 0
        pit.Write(0x42, 0xFF); pit.Write(0x42, 0xFF);
        Assert.Equal(0, pit.Read(0x61) & 0x20);             // OUT2 low while counting
        _now += 60_000_000;
        Assert.Equal(0x20, pit.Read(0x61) & 0x20);          // terminal count reached
    }

    [Fact]
    public void PicInitializedLikeLinuxDeliversVectorsAndCascade()
    {
        var pic = new Pic8259();
        foreach (var (port, value) in new (int, byte)[] { (0x20, 0x11), (0x21, 0x30), (0x21, 0x04), (0x21, 0x01), (0xA0, 0x11), (0xA1, 0x38), (0xA1, 0x02), (0xA1, 0x01), (0x21, 0xFA), (0xA1, 0xFE) })
            pic.Write(port, value);                         // unmask IRQ 0, 2 (cascade) and 8
        pic.SetIrq(8, true); pic.SetIrq(8, false);
        Assert.True(pic.InterruptPending);
        Assert.Equal(0x38, pic.Acknowledge());
        pic.SetIrq(0, true); pic.SetIrq(0, false);
        Assert.Equal(0x30, pic.Acknowledge());              // IRQ 0 outranks the cascade in service
        pic.Write(0x20, 0x20); pic.Write(0xA0, 0x20); pic.Write(0x20, 0x20);
        Assert.False(pic.InterruptPending);
        pic.Write(0x20, 0x0B);
        Assert.Equal(0, pic.Read(0x20));                    // ISR empty after the EOIs
    }
}
