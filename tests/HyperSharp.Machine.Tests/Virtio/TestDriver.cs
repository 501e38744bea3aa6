using System.Buffers.Binary;
using HyperSharp.Hypervisor;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;

namespace HyperSharp.Machine.Tests.Virtio;

/// <summary>Plays the guest driver: lays out a split virtqueue in guest RAM and posts descriptor chains.</summary>
public sealed class TestDriver : IDisposable
{
    public const ulong Desc = 0x10000, Avail = 0x20000, Used = 0x30000, Data = 0x100000;
    private readonly ulong _desc = Desc, _avail = Avail, _used = Used;
    public readonly GuestMemory Memory;
    public readonly GuestRam Ram;
    public readonly ushort Size;
    private readonly bool _ownsMemory;
    private ushort _nextDesc, _availIdx;

    /// <summary>A queue in fresh guest RAM, or queue number <paramref name="ring"/> (1 to 47) in the RAM of <paramref name="sharing"/>.</summary>
    public TestDriver(ushort size = 64, TestDriver? sharing = null, int ring = 0)
    {
        Size = size;
        _ownsMemory = sharing is null;
        Memory = sharing?.Memory ?? GuestMemory.Allocate(16 << 20);
        Ram = sharing?.Ram ?? new GuestRam([new MemorySlot(0, 0, Memory, 0, Memory.Size)]);
        if (ring > 0) (_desc, _avail, _used) = (0x40000 + 0x4000UL * (ulong)ring, 0x41000 + 0x4000UL * (ulong)ring, 0x42000 + 0x4000UL * (ulong)ring);
    }

    /// <summary>A queue in guest RAM the caller laid out (and disposes), e.g. with room for memory added later.</summary>
    public TestDriver(GuestMemory memory, GuestRam ram, ushort size = 64)
    {
        Size = size;
        Memory = memory;
        Ram = ram;
    }

    public SplitVirtqueue Queue(bool eventIndex = false) => new(Ram, Size, _desc, _avail, _used, eventIndex);

    public void SetDescriptor(ushort index, ulong address, uint length, ushort flags, ushort next)
    {
        var d = Ram.GetSpan(_desc + 16UL * index, 16);
        BinaryPrimitives.WriteUInt64LittleEndian(d, address);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
    }

    /// <summary>Posts a chain of (address, length, device-writable) buffers; returns its head.</summary>
    public ushort Post(params (ulong Address, uint Length, bool Writable)[] buffers)
    {
        ushort head = _nextDesc;
        for (int i = 0; i < buffers.Length; i++)
        {
            ushort index = (ushort)((_nextDesc + i) % Size);
            ushort flags = (ushort)((i < buffers.Length - 1 ? 1 : 0) | (buffers[i].Writable ? 2 : 0));
            SetDescriptor(index, buffers[i].Address, buffers[i].Length, flags, (ushort)((index + 1) % Size));
        }
        _nextDesc = (ushort)((_nextDesc + buffers.Length) % Size);
        PublishHead(head);
        return head;
    }

    public void PublishHead(ushort head)
    {
        Ram.Write(_avail + 4 + 2UL * (ushort)(_availIdx % Size), BitConverter.GetBytes(head));
        _availIdx++;
        Ram.Write(_avail + 2, BitConverter.GetBytes(_availIdx));
    }

    public (uint Id, uint Length) UsedElement(int i) =>
        (Ram.Read<uint>(_used + 4 + 8UL * (ulong)(i % Size)), Ram.Read<uint>(_used + 8 + 8UL * (ulong)(i % Size)));

    public ushort UsedIndex => Ram.Read<ushort>(_used + 2);

    public void Dispose() { if (_ownsMemory) Memory.Dispose(); }
}
