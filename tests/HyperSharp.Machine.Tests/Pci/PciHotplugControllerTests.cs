using System.Buffers.Binary;
using HyperSharp.Machine.Devices;
using HyperSharp.Machine.Devices.Pm;
using HyperSharp.Machine.Pci.Hotplug;
using HyperSharp.Machine.Tests.Devices;
using static HyperSharp.Machine.Pci.Hotplug.PciHotplugRegisters;

namespace HyperSharp.Machine.Tests.Pci;

/// <summary>The hotplug register block, the GPE it raises and the shared SCI, driven the way our AML and ACPICA drive them.</summary>
public class PciHotplugControllerTests
{
    private static uint Read32(IIoDevice d, ulong offset) { Span<byte> b = stackalloc byte[4]; d.Read(offset, b); return BinaryPrimitives.ReadUInt32LittleEndian(b); }
    private static void Write32(IIoDevice d, ulong offset, uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); d.Write(offset, b); }

    [Fact]
    public void GpeRaisesTheSciOnlyWhileEnabledAndStatusClearsByWritingOnes()
    {
        var line = new RecordingLine();
        var gpe = new GpeBlock(line);
        gpe.Raise(1);
        Assert.False(line.Level);                       // latched, not enabled
        Assert.Equal(0x02, Read(gpe, 0));
        gpe.Write(2, [0x02]);                            // enable GPE 1 (as ACPICA does for _E01)
        Assert.True(line.Level);
        gpe.Write(0, [0x02]);                            // clear status
        Assert.False(line.Level);
        Assert.Equal(0x00, Read(gpe, 0));
        Assert.Equal(0x02, Read(gpe, 2));
        gpe.Raise(9);                                    // second status byte
        Assert.Equal(0x02, Read(gpe, 1));
        Assert.False(line.Level);
    }

    private static byte Read(IIoDevice d, ulong offset) { Span<byte> b = stackalloc byte[1]; d.Read(offset, b); return b[0]; }

    [Fact]
    public void SharedSciStaysAssertedWhileAnySourceHoldsIt()
    {
        var line = new RecordingLine();
        var sci = new SharedInterruptLine(line);
        var pm = sci.NewInput();
        var gpe = sci.NewInput();
        pm.Set(true);
        gpe.Set(true);
        pm.Set(false);
        Assert.True(line.Level);
        gpe.Set(false);
        Assert.False(line.Level);
        Assert.Equal(1, line.RisingEdges);
    }

    [Fact]
    public void DeviceCheckAndEjectBitsAreAcknowledgedAndEjectedSlotsReported()
    {
        var sci = new RecordingLine();
        var gpe = new GpeBlock(sci);
        gpe.Write(2, [0xFF]);
        var ejected = new List<int>();
        var hp = new PciHotplugController(gpe, new PciHotplugTopology(0), _ => 0b1011, ejected.Add);
        hp.DeviceAdded(5);
        Assert.True(sci.Level);
        Assert.Equal(1u << 5, Read32(hp, DeviceCheck));
        hp.DeviceAdded(7);                               // arrives between the AML's read and its acknowledgement
        Write32(hp, DeviceCheck, 1u << 5);
        Assert.Equal(1u << 7, Read32(hp, DeviceCheck)); // not lost
        hp.RequestEject(3);
        Assert.Equal(1u << 3, Read32(hp, EjectRequest));
        Write32(hp, Ejected, 1u << 3 | 1);               // _EJ0 of slot 3 (bit 0, the host bridge, is ignored)
        Assert.Equal([3], ejected);
        Assert.Equal(0u, Read32(hp, EjectRequest));
        Assert.Equal(0b1010u, Read32(hp, Occupied));
    }

    [Fact]
    public void LabelWindowServesTheCurrentLabelOfEachSlot()
    {
        var hp = new PciHotplugController(new GpeBlock(new RecordingLine()), new PciHotplugTopology(0), _ => 0, _ => { });
        hp.SetLabel(4, "Data Disk 1");
        var bytes = new byte[LabelStride];
        for (int i = 0; i < LabelStride; i += 4) hp.LabelWindow.Read((ulong)(4 * LabelStride + i), bytes.AsSpan(i, 4)); // DWordAcc, as the field reads
        Assert.Equal("Data Disk 1", System.Text.Encoding.UTF8.GetString(bytes).TrimEnd('\0'));
        hp.SetLabel(4, "Ünïcode ok");
        hp.LabelWindow.Read(4 * LabelStride, bytes.AsSpan(0, 16));
        Assert.Equal("Ünïcode ok", System.Text.Encoding.UTF8.GetString(bytes, 0, 12));
        hp.LabelWindow.Read(5 * LabelStride, bytes.AsSpan(0, 8));
        Assert.All(bytes[..8], b => Assert.Equal(0, b));
        Assert.Throws<ArgumentException>(() => hp.SetLabel(4, new string('x', LabelStride)));
        Assert.Throws<ArgumentException>(() => hp.SetLabel(4, "a\0b"));
        Assert.Throws<ArgumentOutOfRangeException>(() => hp.SetLabel(0, "bridge"));
        var state = hp.SaveState();
        var copy = new PciHotplugController(new GpeBlock(new RecordingLine()), new PciHotplugTopology(0), _ => 0, _ => { });
        copy.RestoreState(state);
        Assert.Equal("Ünïcode ok", copy.GetLabel(4));
    }

    [Fact]
    public void BridgeBusesHaveTheirOwnRegistersAndSlotIds()
    {
        var gpe = new GpeBlock(new RecordingLine());
        var ejected = new List<int>();
        var topology = new PciHotplugTopology(3);
        var hp = new PciHotplugController(gpe, topology, bus => bus == 2 ? 0x8000_0001u : 0x8000_0000u, ejected.Add);
        Assert.Equal(28, topology.LastRootSlot);                     // bus 0's slots 29-31 hold the bridges
        Assert.Equal(124, topology.HotplugSlots().Count());
        Assert.Equal(31, PciHotplugTopology.BridgeSlot(1));
        hp.DeviceAdded(2 * 32 + 0);                                  // bridge 2's bus, device 0
        hp.RequestEject(32 + 31);
        Assert.Equal(1u, Read32(hp, 2 * BusStride + DeviceCheck));
        Assert.Equal(0u, Read32(hp, DeviceCheck));
        Assert.Equal(1u << 31, Read32(hp, BusStride + EjectRequest));
        Write32(hp, BusStride + Ejected, 1u << 31);
        Assert.Equal([63], ejected);
        Assert.Equal(0u, Read32(hp, Occupied));                      // bus 0's bridge slots are not hotplug slots
        Assert.Equal(0x8000_0001u, Read32(hp, 2 * BusStride + Occupied));
        Assert.Throws<ArgumentOutOfRangeException>(() => hp.DeviceAdded(29));
        Assert.Throws<ArgumentOutOfRangeException>(() => hp.DeviceAdded(128));
        hp.SetLabel(100, "Adapter 70");
        var bytes = new byte[16];
        hp.LabelWindow.Read(100 * LabelStride, bytes);
        Assert.Equal("Adapter 70", System.Text.Encoding.UTF8.GetString(bytes).TrimEnd('\0'));
        var copy = new PciHotplugController(gpe, topology, _ => 0, _ => { });
        copy.RestoreState(hp.SaveState());
        Assert.Equal(1u, Read32(copy, 2 * BusStride + DeviceCheck));
        Assert.Equal("Adapter 70", copy.GetLabel(100));
        Assert.Equal(PciHotplugTopology.Gsi(31), PciHotplugTopology.Gsi(32 + 0)); // INTA behind bridge 1 device 0 is the bridge slot's INTA
    }
}
