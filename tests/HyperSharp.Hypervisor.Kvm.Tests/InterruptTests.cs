using HyperSharp.Hypervisor.Testing;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperSharp.Hypervisor.Kvm.Tests;

/// <summary>Interrupts through the in-kernel irqchip: irqfd triggers and interrupt lines via the 8259 PIC, MSIs via the local APIC.</summary>
public sealed class InterruptTests(ITestOutputHelper output)
{
    private const ushort ReadyPort = 0x500, HandlerPort = 0x501;
    private const int PicBase = 0x20, Irq = 5;

    /// <summary>Guest: program the PIC (vectors 0x20-0x2F, only IRQ 5 unmasked), report ready, then STI; HLT until the handler reports.</summary>
    private static void PicGuest(Assembler a)
    {
        a.mov(al, 0x11); a.@out(0x20, al);      // ICW1: edge, cascade, ICW4 follows
        a.mov(al, PicBase); a.@out(0x21, al);   // ICW2: vector base
        a.mov(al, 0x04); a.@out(0x21, al);      // ICW3: slave on IRQ2
        a.mov(al, 0x01); a.@out(0x21, al);      // ICW4: 8086 mode
        a.mov(al, (byte)(0xFF & ~(1 << Irq))); a.@out(0x21, al); // OCW1: unmask IRQ 5 only
        a.mov(al, 0xFF); a.@out(0xA1, al);      // slave fully masked
        a.mov(dx, ReadyPort); a.@out(dx, al);
        var wait = a.CreateLabel();
        a.Label(ref wait);
        a.sti();
        a.hlt();
        a.jmp(wait);
    }

    /// <summary>Handler: report the vector on HandlerPort, EOI the PIC, return.</summary>
    private static void PicHandler(Assembler a)
    {
        a.mov(al, PicBase + Irq);
        a.mov(dx, HandlerPort);
        a.@out(dx, al);
        a.mov(al, 0x20); a.@out(0x20, al); // non-specific EOI
        a.iretq();
    }

    [Fact]
    public void Irqfd_TriggerFromAnotherThread_DeliversInterruptToGuestHandler()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv, new PartitionOptions { IntervalTimer = false });
        guest.Load(TestGuest.CodeAddress, PicGuest);
        guest.Load(TestGuest.HandlerAddress, PicHandler);
        guest.SetInterruptGate(PicBase + Irq, TestGuest.HandlerAddress);
        using var trigger = guest.Partition.CreateInterruptTrigger(Irq);
        using var vp = guest.StartProcessor(0);

        var e = new IoStepper(vp).Next();
        Assert.Equal((AddressSpace.Port, (ulong)ReadyPort), (e.Space, e.Address));

        // Fire from a device thread while the vCPU sits in HLT inside the kernel.
        var device = new Thread(() => { Thread.Sleep(20); trigger.Trigger(); });
        device.Start();
        e = new IoStepper(vp).Next();
        device.Join();
        Assert.Equal((AddressSpace.Port, (ulong)HandlerPort, (ulong)(PicBase + Irq)), (e.Space, e.Address, e.Value));

        // A second edge is delivered too (the handler sent EOI).
        trigger.Trigger();
        e = new IoStepper(vp).Next();
        Assert.Equal((AddressSpace.Port, (ulong)HandlerPort), (e.Space, e.Address));
    }

    [Fact]
    public void InterruptLine_AssertAndDeassert_DeliversInterrupt()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv, new PartitionOptions { IntervalTimer = false });
        guest.Load(TestGuest.CodeAddress, PicGuest);
        guest.Load(TestGuest.HandlerAddress, PicHandler);
        guest.SetInterruptGate(PicBase + Irq, TestGuest.HandlerAddress);
        using var vp = guest.StartProcessor(0);

        Assert.Equal((ulong)ReadyPort, new IoStepper(vp).Next().Address);
        guest.Partition.SetInterruptLine(Irq, true);
        guest.Partition.SetInterruptLine(Irq, false);
        var e = new IoStepper(vp).Next();
        Assert.Equal((AddressSpace.Port, (ulong)HandlerPort, (ulong)(PicBase + Irq)), (e.Space, e.Address, e.Value));
    }

    [Fact]
    public void IntervalTimer_Programmed_FiresIrq0()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        using var guest = new TestGuest(hv); // default options: in-kernel PIT on GSI 0
        guest.Load(TestGuest.CodeAddress, a =>
        {
            a.mov(al, 0x11); a.@out(0x20, al);
            a.mov(al, PicBase); a.@out(0x21, al);
            a.mov(al, 0x04); a.@out(0x21, al);
            a.mov(al, 0x01); a.@out(0x21, al);
            a.mov(al, 0xFE); a.@out(0x21, al);     // only IRQ 0 (the PIT)
            a.mov(al, 0x34); a.@out(0x43, al);     // channel 0, lo/hi byte, mode 2 (rate generator)
            a.mov(al, 0xA9); a.@out(0x40, al);     // divisor 1193 (0x04A9): 1 kHz
            a.mov(al, 0x04); a.@out(0x40, al);
            var wait = a.CreateLabel();
            a.Label(ref wait);
            a.sti();
            a.hlt();
            a.jmp(wait);
        });
        guest.Load(TestGuest.HandlerAddress, a =>
        {
            a.mov(al, PicBase);
            a.mov(dx, HandlerPort);
            a.@out(dx, al);
            a.mov(al, 0x20); a.@out(0x20, al);
            a.iretq();
        });
        guest.SetInterruptGate(PicBase, TestGuest.HandlerAddress);
        using var vp = guest.StartProcessor(0);
        using var watchdog = new Timer(_ => vp.RequestStop(), null, 5000, Timeout.Infinite);
        var e = new IoStepper(vp).Next(); // the PIT ports never leave the kernel: the first exit is the timer interrupt's handler
        Assert.Equal((AddressSpace.Port, (ulong)HandlerPort, (ulong)PicBase), (e.Space, e.Address, e.Value));
    }

    private const byte MsiVector = 0x41;

    /// <summary>A guest with its local APIC enabled and a handler for <see cref="MsiVector"/>, stopped at ReadyPort.</summary>
    private static (TestGuest Guest, IVirtualProcessor Vp) StartApicGuest(KvmHypervisor hv)
    {
        var guest = new TestGuest(hv, new PartitionOptions { IntervalTimer = false });
        guest.Load(TestGuest.CodeAddress, a =>
        {
            a.mov(rbx, 0xFEE0_0000UL);
            a.mov(__dword_ptr[rbx + 0xF0], 0x1FF); // spurious vector register: APIC software-enabled
            a.mov(dx, ReadyPort); a.@out(dx, al);
            var wait = a.CreateLabel();
            a.Label(ref wait);
            a.sti();
            a.hlt();
            a.jmp(wait);
        });
        guest.Load(TestGuest.HandlerAddress, a =>
        {
            a.mov(al, MsiVector);
            a.mov(dx, HandlerPort);
            a.@out(dx, al);
            a.mov(rbx, 0xFEE0_0000UL);
            a.mov(__dword_ptr[rbx + 0xB0], 0); // EOI
            a.iretq();
        });
        guest.SetInterruptGate(MsiVector, TestGuest.HandlerAddress);
        var vp = guest.StartProcessor(0);
        Assert.Equal((ulong)ReadyPort, new IoStepper(vp).Next().Address);
        return (guest, vp);
    }

    [Fact]
    public void Msi_ToLocalApic_DeliversVector()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        var (guest, vp) = StartApicGuest(hv);
        using (guest)
        using (vp)
        {
            guest.Partition.SignalMsi(0xFEE0_0000, MsiVector); // destination APIC 0, fixed delivery, edge
            var e = new IoStepper(vp).Next();
            Assert.Equal((AddressSpace.Port, (ulong)HandlerPort, (ulong)MsiVector), (e.Space, e.Address, e.Value));
        }
    }

    [Fact]
    public void MsiTrigger_FromDeviceThread_DeliversVector_AndStopsAfterDispose()
    {
        using var hv = KvmTestHost.Open(output);
        if (hv is null) return;
        var (guest, vp) = StartApicGuest(hv);
        using (guest)
        using (vp)
        {
            var trigger = guest.Partition.CreateMsiTrigger(0xFEE0_0000, MsiVector);
            using var lineTrigger = guest.Partition.CreateInterruptTrigger(Irq); // platform routes still work beside MSI routes
            var device = new Thread(() => { Thread.Sleep(20); trigger.Trigger(); });
            device.Start();
            var e = new IoStepper(vp).Next();
            device.Join();
            Assert.Equal((AddressSpace.Port, (ulong)HandlerPort, (ulong)MsiVector), (e.Space, e.Address, e.Value));

            trigger.Dispose();
            using var stopper = new Timer(_ => vp.RequestStop(), null, 100, Timeout.Infinite);
            Assert.Equal(ExitKind.Cancelled, vp.Run(NoIo.Instance).Kind); // nothing else arrives: the guest stays in HLT until stopped
        }
    }
}
