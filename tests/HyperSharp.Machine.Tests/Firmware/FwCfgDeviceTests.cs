using System.Buffers.Binary;
using System.Text;
using HyperSharp.Hypervisor;
using HyperSharp.Machine.Firmware.FwCfg;
using HyperSharp.Machine.Memory;

namespace HyperSharp.Machine.Tests.Firmware;

public sealed class FwCfgDeviceTests : IDisposable
{
    private const ulong Access = 0x1000, Buffer = 0x2000;
    private readonly GuestMemory _memory = GuestMemory.Allocate(64 * 1024);
    private readonly GuestRam _ram;
    private readonly FwCfgItems _items = new(processors: 2);
    private readonly FwCfgDevice _device;

    public FwCfgDeviceTests()
    {
        _ram = new GuestRam([new MemorySlot(0, 0, _memory, 0, _memory.Size)]);
        _device = new FwCfgDevice(_items, _ram);
    }

    public void Dispose() => _memory.Dispose();

    private void Select(ushort key) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, key); _device.Write(0, b); }

    private byte[] ReadData(int count)
    {
        var data = new byte[count];
        for (int i = 0; i < count; i++) _device.Read(1, data.AsSpan(i, 1));
        return data;
    }

    /// <summary>Writes an access structure at <see cref="Access"/> and starts it as SeaBIOS does (low half only); returns the control word after.</summary>
    private uint Dma(uint control, uint length, ulong address, ulong at = Access)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(header, control);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), length);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(8), address);
        if (_ram.Contains(at, 16)) _ram.Write(at, header);
        var low = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(low, (uint)at);
        if (at >> 32 != 0) { var high = new byte[4]; BinaryPrimitives.WriteUInt32BigEndian(high, (uint)(at >> 32)); _device.Write(4, high); }
        _device.Write(8, low);
        return _ram.Contains(at, 16) ? BinaryPrimitives.ReadUInt32BigEndian(_ram.GetSpan(at, 4)) : uint.MaxValue;
    }

    private static uint ReadOf(ushort key) => (uint)key << 16 | 0x08 | 0x02;

    [Fact]
    public void TheDataPortGivesTheSignatureTheFeatureBitsAndZerosPastTheEnd()
    {
        Select(FwCfgItems.SignatureKey);
        Assert.Equal("QEMU\0\0"u8.ToArray(), ReadData(6));
        Select(FwCfgItems.IdKey);
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(ReadData(4))); // traditional + DMA
        Select(FwCfgItems.ProcessorCountKey);
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(ReadData(2)));
        Select(0x1234);                                                         // nothing there
        Assert.Equal(new byte[4], ReadData(4));
        var signature = new byte[8];
        _device.Read(4, signature.AsSpan(0, 4));
        _device.Read(8, signature.AsSpan(4, 4));
        Assert.Equal("QEMU CFG"u8.ToArray(), signature);                        // the DMA register's signature
    }

    [Fact]
    public void TheDirectoryListsEachFileByNameWithItsSizeAndKey()
    {
        ushort b = _items.AddFile("etc/b", [1, 2, 3]);
        ushort a = _items.AddFile("etc/a", new byte[300]);
        Select(FwCfgItems.FileDirectoryKey);
        var dir = ReadData(4 + 2 * 64);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(dir));
        Assert.Equal(300u, BinaryPrimitives.ReadUInt32BigEndian(dir.AsSpan(4)));   // sorted by name: etc/a first
        Assert.Equal(a, BinaryPrimitives.ReadUInt16BigEndian(dir.AsSpan(8)));
        Assert.Equal("etc/a", Encoding.ASCII.GetString(dir, 12, 56).TrimEnd('\0'));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32BigEndian(dir.AsSpan(68)));
        Assert.Equal(b, BinaryPrimitives.ReadUInt16BigEndian(dir.AsSpan(72)));
        Assert.Throws<ArgumentException>(() => _items.AddFile("etc/a", []));
        Assert.Throws<ArgumentException>(() => _items.AddFile(new string('x', 56), []));
    }

    [Fact]
    public void DmaSelectsReadsSkipsAndZeroFillsPastTheEndOfTheItem()
    {
        ushort key = _items.AddFile("etc/data", [10, 11, 12, 13, 14]);
        _ram.Write(Buffer, Enumerable.Repeat((byte)0xEE, 8).ToArray());
        Assert.Equal(0u, Dma(ReadOf(key), 2, Buffer));
        Assert.Equal(new byte[] { 10, 11, 0xEE }, _ram.GetSpan(Buffer, 3).ToArray());
        Assert.Equal(0u, Dma(0x04, 1, 0));                                       // skip one: offset 3
        Assert.Equal(0u, Dma(0x02, 4, Buffer));                                  // the rest, then zeros
        Assert.Equal(new byte[] { 13, 14, 0, 0, 0xEE }, _ram.GetSpan(Buffer, 5).ToArray());
    }

    [Fact]
    public void HostileDmaIsAnsweredWithTheErrorBitOrADeviceErrorAndNeverTouchesMemoryOutsideRam()
    {
        ushort key = _items.AddFile("etc/data", new byte[64]);
        Assert.Equal(1u, Dma(ReadOf(key), 16, _memory.Size - 8));                // straddles the end of RAM
        Assert.Equal(1u, Dma(ReadOf(key), 16, 0xFFFF_FFFF_FFFF_FFF8));           // wraps around
        Assert.Equal(1u, Dma(ReadOf(key), uint.MaxValue, Buffer));               // longer than RAM
        Assert.Equal(1u, Dma((uint)key << 16 | 0x08 | 0x10, 4, Buffer));         // items are read-only
        Assert.Equal(1u, Dma(0x02 | 0x04, 4, Buffer));                           // two operations at once
        var outside = Assert.Throws<FwCfgException>(() => Dma(ReadOf(key), 4, Buffer, at: 0x1_0000_0000));
        Assert.Contains("0x100000000", outside.Message);
        Assert.Throws<FwCfgException>(() => _device.Write(8, [1, 2]));           // half a DMA address
    }

    [Fact]
    public void StateCarriesTheSelectionAndOffset()
    {
        ushort key = _items.AddFile("etc/data", [1, 2, 3, 4]);
        Select(key);
        ReadData(2);
        var copy = new FwCfgDevice(_items, _ram);
        copy.RestoreState(_device.SaveState());
        var next = new byte[1];
        copy.Read(1, next);
        Assert.Equal(3, next[0]);
    }
}
