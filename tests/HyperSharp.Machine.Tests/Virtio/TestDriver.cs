using System.Buffers.Binary;
using HyperSharp.Hypervisor;
using HyperSharp.Machine.Memory;
using HyperSharp.Machine.Virtio.Queue;

namespace HyperSharp.Machine.Tests.Virtio;

/// <summary>Plays the guest driver: lays out a split virtqueue in guest RAM and posts descriptor chains.</summary>
public sealed class TestDriver : IDisposable
{
    public const ulong Desc = 0x10000, Avail = 0x20000, Used = 0x30000, Data = 0x100000;
    public readonly GuestMemory Memory = GuestMemory.Allocate(16 << 20);
    public readonly GuestRam Ram;
    public readonly ushort Size;
    private ushort _nextDesc, _availIdx;

    public TestDriver(ushort size = 64)
    {
        Size = size;
        Ram = new GuestRam([new MemorySlot(0, 0, Memory, 0, Memory.Size)]);
    }

    public SplitVirtqueue Queue(bool eventIndex = false) => new(Ram, Size, Desc, Avail, Used, eventIndex);

    public void SetDescriptor(ushort index, ulong address, uint length, ushort flags, ushort next)
    {
        var d = Ram.GetSpan(Desc + 16UL * index, 16);
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
        Ram.Write(Avail + 4 + 2UL * (ushort)(_availIdx % Size), BitConverter.GetBytes(head));
        _availIdx++;
        Ram.Write(Avail + 2, BitConverter.GetBytes(_availIdx));
    }

    public (uint Id, uint Length) UsedElement(int i) =>
        (Ram.Read<uint>(Used + 4 + 8UL * (ulong)(i % Size)), Ram.Read<uint>(Used + 8 + 8UL * (ulong)(i % Size)));

    public ushort UsedIndex => Ram.Read<ushort>(Used + 2);

    public void Dispose() => Memory.Dispose();
}
