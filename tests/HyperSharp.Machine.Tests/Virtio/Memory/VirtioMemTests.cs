using System.Buffers.Binary;
using HyperSharp.Hypervisor;
using HyperSharp.Hypervisor.Emulated.Backend;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio;
using HyperSharp.Machine.Virtio.Mem;

namespace HyperSharp.Machine.Tests.Virtio.Memory;

/// <summary>virtio-mem on the Emulated backend with its processor created, so the region is hot-added to a running partition.</summary>
public sealed class VirtioMemTests : IDisposable
{
    private const ulong Boot = 16 << 20, Region = 16 << 20, Block = 2 << 20;
    private const ulong Request = 0x100000, Response = 0x101000;
    private readonly GuestMemory _memory = GuestMemory.Allocate(Boot + Region);
    private readonly IPartition _partition = new EmulatedHypervisor().CreatePartition(new PartitionOptions { ProcessorCount = 1 });
    private readonly GuestRam _ram;
    private readonly HotAddRegion _region;
    private readonly VirtioMemDevice _device;
    private readonly TestDriver _driver;
    private ushort _sent;

    private sealed class NoInterrupts : IVirtioInterrupts
    {
        public int ConfigChanges;
        public void QueueInterrupt(int queue) { }
        public void ConfigChanged() => ConfigChanges++;
    }

    private readonly NoInterrupts _irq = new();

    public VirtioMemTests()
    {
        var boot = new MemorySlot(0, 0, _memory, 0, Boot);
        _partition.MapMemory(boot);
        _partition.CreateProcessor(0).Dispose(); // the processors' view of RAM is built: what follows is hot-add
        _ram = new GuestRam([boot]);
        _region = new HotAddRegion(_partition, _ram, _memory, Boot, Region, 1);
        _device = new VirtioMemDevice("mem0", _ram, _region);
        _driver = new TestDriver(_memory, _ram, 16);
        _device.Activate(1UL << 32, [_driver.Queue()], _irq);
    }

    public void Dispose()
    {
        _partition.Dispose();
        _memory.Dispose();
    }

    /// <summary>Sends one request as the driver would and returns the response type and state.</summary>
    private (ushort Type, ushort State) Send(ushort type, ulong address = 0, ushort blocks = 0)
    {
        var req = _ram.GetSpan(Request, 24);
        req.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(req, type);
        BinaryPrimitives.WriteUInt64LittleEndian(req[8..], address);
        BinaryPrimitives.WriteUInt16LittleEndian(req[16..], blocks);
        _driver.Post((Request, 24, false), (Response, 10, true));
        _device.ProcessQueue(0);
        Assert.Equal(++_sent, _driver.UsedIndex);
        return (_ram.Read<ushort>(Response), _ram.Read<ushort>(Response + 8));
    }

    private ulong Config(int offset)
    {
        Span<byte> v = stackalloc byte[8];
        _device.ReadConfig(offset, v);
        return BinaryPrimitives.ReadUInt64LittleEndian(v);
    }

    [Fact]
    public void TheConfigurationDescribesTheRegionAndTheRequest()
    {
        Assert.Equal(Block, Config(0));
        Assert.Equal(Boot, Config(16));
        Assert.Equal(Region, Config(24));
        Assert.Equal(0UL, Config(48));
        _device.SetRequestedSize(4 << 20);
        Assert.Equal(4UL << 20, Config(48));
        Assert.Equal(1, _irq.ConfigChanges);
        Assert.Throws<ArgumentOutOfRangeException>(() => _device.SetRequestedSize(3 << 20));     // not whole blocks
        Assert.Throws<ArgumentOutOfRangeException>(() => _device.SetRequestedSize(Region * 2));  // past the region
    }

    [Fact]
    public void PlugsUpToTheRequestOnceTheRegionIsMappedIntoTheRunningPartition()
    {
        Assert.False(_ram.Contains(Boot, 4096));
        _device.SetRequestedSize(2 * Block);
        Assert.True(_region.IsMapped);
        Assert.True(_ram.Contains(Boot, 4096)); // devices reach it (DMA)
        Assert.Equal((ushort)0, Send(0, Boot, 2).Type);           // PLUG: ACK
        Assert.Equal((ushort)1, Send(0, Boot + 2 * Block, 1).Type); // beyond the request: NACK
        Assert.Equal((ushort)3, Send(0, Boot, 1).Type);           // already plugged: ERROR
        Assert.Equal((ushort)3, Send(0, Boot + 4096, 1).Type);    // misaligned: ERROR
        Assert.Equal((ushort)3, Send(0, Boot + Region, 1).Type);  // outside: ERROR
        Assert.Equal(2 * Block, _device.PluggedBytes);
        Assert.Equal(2 * Block, Config(40));
        Assert.Equal(((ushort)0, (ushort)0), Send(3, Boot, 2));     // STATE: plugged
        Assert.Equal(((ushort)0, (ushort)2), Send(3, Boot, 4));     // mixed
        Assert.Equal(((ushort)0, (ushort)1), Send(3, Boot + 4 * Block, 2)); // unplugged
    }

    [Fact]
    public void UnpluggedBlocksGoBackToTheHost()
    {
        _device.SetRequestedSize(2 * Block);
        Send(0, Boot, 2);
        _ram.GetSpan(Boot, (int)(2 * Block)).Fill(0x5A);
        Assert.Equal((ushort)3, Send(1, Boot + 2 * Block, 1).Type); // not plugged: ERROR
        Assert.Equal((ushort)0, Send(1, Boot + Block, 1).Type);
        Assert.False(_ram.GetSpan(Boot + Block, (int)Block).ContainsAnyExcept((byte)0));
        Assert.False(_ram.GetSpan(Boot, (int)Block).ContainsAnyExcept((byte)0x5A));
        Assert.Equal(Block, _device.PluggedBytes);
        Assert.Equal((ushort)0, Send(2).Type); // UNPLUG_ALL
        Assert.Equal(0UL, _device.PluggedBytes);
        Assert.False(_ram.GetSpan(Boot, (int)Block).ContainsAnyExcept((byte)0));
    }

    [Fact]
    public void StateRoundTripsAndMapsTheRegionAgain()
    {
        _device.SetRequestedSize(4 * Block);
        Send(0, Boot + 2 * Block, 2);
        var w = new HyperSharp.Hypervisor.State.StateWriter();
        _device.SaveState().Write(w);
        var r = new HyperSharp.Hypervisor.State.StateReader(w.WrittenSpan, "hot-add-memory");
        var state = VirtioMemState.Read(ref r, VirtioMemState.Version);

        using var memory = GuestMemory.Allocate(Boot + Region);
        using var partition = new EmulatedHypervisor().CreatePartition(new PartitionOptions { ProcessorCount = 1 });
        var boot = new MemorySlot(0, 0, memory, 0, Boot);
        partition.MapMemory(boot);
        var ram = new GuestRam([boot]);
        var region = new HotAddRegion(partition, ram, memory, Boot, Region, 1);
        var restored = new VirtioMemDevice("mem0", ram, region);
        restored.RestoreState(state);
        Assert.True(region.IsMapped);
        Assert.Equal(2 * Block, restored.PluggedBytes);
        Assert.Equal(4 * Block, restored.RequestedBytes);

        var wrong = new VirtioMemDevice("mem0", ram, new HotAddRegion(partition, ram, memory, Boot, Region / 2, 2));
        Assert.Throws<InvalidDataException>(() => wrong.RestoreState(state));
    }
}
