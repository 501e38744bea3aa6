using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Devices.I8042;
using HyperSharp.Machine.Devices.Pm;
using HyperSharp.Machine.Devices.Rtc;
using HyperSharp.Machine.Devices.Serial;

namespace HyperSharp.Machine.Tests.Devices;

public class ChipsetTests
{
    private static byte In(IIoDevice d, ulong offset) { Span<byte> b = stackalloc byte[1]; d.Read(offset, b); return b[0]; }
    private static void Out(IIoDevice d, ulong offset, byte v) => d.Write(offset, [v]);

    [Fact]
    public void SerialPassesTheProbesLinux8250Makes()
    {
        var line = new RecordingLine();
        var sent = new List<byte>();
        var uart = new Serial16550("com1", line, sent.Add);
        Out(uart, 7, 0xA5); Assert.Equal(0xA5, In(uart, 7));                      // scratch register
        Out(uart, 4, 0x1A); Assert.Equal(0x90, In(uart, 6) & 0xF0);               // loopback: OUT2->DCD, RTS->CTS
        Out(uart, 0, (byte)'x'); Assert.Equal(1, In(uart, 5) & 1); Assert.Equal((byte)'x', In(uart, 0)); // loopback echo
        Assert.Empty(sent);
        Out(uart, 4, 0x0B);                                                        // leave loopback, OUT2 on
        Out(uart, 3, 0x80); Out(uart, 0, 1); Out(uart, 1, 0); Out(uart, 3, 0x03);  // divisor 1, 8N1
        Assert.Equal(0x01, In(uart, 2) & 0x0F);                                    // nothing pending
        Out(uart, 1, 0x02);                                                        // enabling THRE interrupts fires one at once
        Assert.True(line.Level);
        Assert.Equal(0x02, In(uart, 2) & 0x0F);                                    // IIR says THRE, and reading it acknowledges
        Assert.False(line.Level);
        Out(uart, 0, (byte)'h'); Out(uart, 0, (byte)'i');
        Assert.Equal("hi"u8.ToArray(), sent.ToArray());
        Out(uart, 1, 0x01);                                                        // receive interrupts only
        uart.Receive("ok"u8);
        Assert.True(line.Level);
        Assert.Equal(0x04, In(uart, 2) & 0x0F);
        Assert.Equal((byte)'o', In(uart, 0)); Assert.Equal((byte)'k', In(uart, 0));
        Assert.False(line.Level);
        Assert.Equal(0x60, In(uart, 5) & 0x61);                                    // transmitter empty, no data
    }

    [Fact]
    public void SerialStateRoundTripKeepsRegistersAndPendingInput()
    {
        var uart = new Serial16550("com1", new RecordingLine(), _ => { });
        Out(uart, 3, 0x03); Out(uart, 1, 0x01); Out(uart, 7, 0x42);
        uart.Receive("abc"u8);
        In(uart, 0);
        var line = new RecordingLine();
        var copy = new Serial16550("com1", line, _ => { });
        copy.RestoreState(uart.SaveState());
        Assert.True(line.Level);
        Assert.Equal(0x42, In(copy, 7));
        Assert.Equal((byte)'b', In(copy, 0));
        Assert.Equal((byte)'c', In(copy, 0));
    }

    [Fact]
    public void RtcShowsHostTimeInBcdAndKeepsTheGuestsSetting()
    {
        var now = new DateTimeOffset(2026, 11, 27, 13, 45, 59, TimeSpan.Zero);
        var rtc = new CmosRtc(() => now);
        byte Reg(byte index) { Out(rtc, 0, index); return In(rtc, 1); }
        Assert.Equal(0x59, Reg(0x00)); Assert.Equal(0x45, Reg(0x02)); Assert.Equal(0x13, Reg(0x04));
        Assert.Equal(0x27, Reg(0x07)); Assert.Equal(0x11, Reg(0x08)); Assert.Equal(0x26, Reg(0x09)); Assert.Equal(0x20, Reg(0x32));
        Assert.Equal(0x80, Reg(0x0D));
        // The guest sets 2030-01-02 03:04:05 with SET held, in binary mode.
        Out(rtc, 0, 0x0B); Out(rtc, 1, 0x80 | 0x02 | 0x04);
        foreach (var (r, v) in new (byte, byte)[] { (0, 5), (2, 4), (4, 3), (7, 2), (8, 1), (9, 30), (0x32, 20) }) { Out(rtc, 0, r); Out(rtc, 1, v); }
        Out(rtc, 0, 0x0B); Out(rtc, 1, 0x02 | 0x04);
        now = now.AddSeconds(10); // time runs on from what the guest set
        Assert.Equal(15, Reg(0x00)); Assert.Equal(4, Reg(0x02)); Assert.Equal(30, Reg(0x09));
        var copy = new CmosRtc(() => now);
        copy.RestoreState(rtc.SaveState());
        Out(copy, 0, 0x00);
        Assert.Equal(15, In(copy, 1));
    }

    [Fact]
    public void I8042ResetsOnCommandFEAndOnOutputPortBit0()
    {
        int resets = 0;
        var kbc = new I8042Controller(() => resets++);
        Out(kbc, 4, 0xAA); Assert.Equal(1, In(kbc, 4) & 1); Assert.Equal(0x55, In(kbc, 0));
        Out(kbc, 4, 0xFE); Assert.Equal(1, resets);
        Out(kbc, 4, 0xD1); Out(kbc, 0, 0xFE); Assert.Equal(2, resets);
        Out(kbc, 4, 0xD1); Out(kbc, 0, 0xFF); Assert.Equal(2, resets);
    }

    [Fact]
    public void AcpiPmPowerButtonRaisesSciAndS5PowersOff()
    {
        var sci = new RecordingLine();
        int off = 0, resets = 0;
        var pm = new AcpiPm(sci, () => off++, () => resets++);
        pm.PressPowerButton();
        Assert.False(sci.Level); // not enabled yet
        pm.Write(AcpiPm.EventOffset + 2, [0x00, 0x01]); // PWRBTN_EN
        Assert.True(sci.Level);
        pm.Write(AcpiPm.EventOffset, [0x00, 0x01]);     // the guest acknowledges PWRBTN_STS
        Assert.False(sci.Level);
        ushort s5 = (ushort)(AcpiPm.S5SleepType << 10 | 1 << 13);
        pm.Write(AcpiPm.ControlOffset, [(byte)s5, (byte)(s5 >> 8)]);
        Assert.Equal(1, off);
        pm.Write(AcpiPm.ResetOffset, [AcpiPm.ResetValue]);
        Assert.Equal(1, resets);
        Span<byte> t1 = stackalloc byte[4], t2 = stackalloc byte[4];
        pm.Read(AcpiPm.TimerOffset, t1); Thread.Sleep(2); pm.Read(AcpiPm.TimerOffset, t2);
        Assert.NotEqual(BitConverter.ToUInt32(t1), BitConverter.ToUInt32(t2));
    }

    private sealed class Throwing : IPortIoDevice
    {
        public string Name => "broken";
        public void Read(ulong offset, Span<byte> data) => throw new InvalidOperationException("boom");
        public void Write(ulong offset, ReadOnlySpan<byte> data) => throw new InvalidOperationException("boom");
    }

    [Fact]
    public void BusRefusesOverlapsAndContainsFailingDevices()
    {
        var logged = new List<string>();
        var bus = new IoBus<IPortIoDevice>("port bus", new DeviceErrorLog(logged.Add));
        var uart = new Serial16550("com1", new RecordingLine(), _ => { });
        bus.Add(0x3F8, 8, uart);
        var overlap = Assert.Throws<InvalidOperationException>(() => bus.Add(0x3FF, 2, new Throwing()));
        Assert.Contains("com1", overlap.Message);
        bus.Add(0x500, 1, new Throwing());
        Span<byte> b = stackalloc byte[1];
        bus.Read(0x500, b); Assert.Equal(0xFF, b[0]);
        bus.Write(0x500, [1]);
        bus.Read(0x1234, b); Assert.Equal(0xFF, b[0]); // nothing there
        Assert.Single(logged); // rate-limited
        Assert.Contains("broken", logged[0]);
        bus.Write(0x3FF, [0x77]); bus.Read(0x3FF, b); Assert.Equal(0x77, b[0]); // offset is relative to the range
    }
}
