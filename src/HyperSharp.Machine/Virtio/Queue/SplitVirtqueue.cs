using System.Buffers.Binary;
using HyperSharp.Hypervisor;
using HyperSharp.Machine.Memory;

namespace HyperSharp.Machine.Virtio.Queue;

/// <summary>
/// The device side of a split virtqueue (virtio 1.x, "Split Virtqueues"): pops descriptor chains
/// from the available ring and pushes completions to the used ring. Everything the guest wrote is
/// treated as hostile: indices are checked against the queue size, chains are bounded (a loop
/// cannot spin us), indirect tables are checked and may not nest, and every address must be RAM.
/// One thread serves a queue at a time (the transport's per-queue gate), so the queue needs no lock.
/// </summary>
public sealed class SplitVirtqueue(GuestRam ram, ushort size, ulong descriptorTable, ulong availableRing, ulong usedRing, bool eventIndex)
{
    private const ushort NextFlag = 1, WriteFlag = 2, IndirectFlag = 4;
    private const ushort AvailNoInterrupt = 1;
    private ushort _lastAvailable, _usedIndex, _lastSignalledUsed;
    private bool _signalledOnce;

    public ushort Size { get; } = Validate(size, ram, descriptorTable, availableRing, usedRing, eventIndex);

    private static ushort Validate(ushort size, GuestRam ram, ulong desc, ulong avail, ulong used, bool eventIndex)
    {
        if (size == 0 || size > 32768 || (size & (size - 1)) != 0) throw new VirtqueueException($"queue size {size} is not a power of two from 1 to 32768");
        ulong extra = eventIndex ? 2u : 0u;
        if (!ram.Contains(desc, 16UL * size) || !ram.Contains(avail, 4 + 2UL * size + extra) || !ram.Contains(used, 4 + 8UL * size + extra))
            throw new VirtqueueException($"queue rings (descriptors 0x{desc:X}, available 0x{avail:X}, used 0x{used:X}) are not inside guest RAM");
        if (desc % 16 != 0 || avail % 2 != 0 || used % 4 != 0) throw new VirtqueueException("queue rings are misaligned");
        return size;
    }

    /// <summary>Position in the available ring the device has consumed up to (saved state).</summary>
    public ushort LastAvailable { get => _lastAvailable; set => _lastAvailable = value; }

    /// <summary>The used ring index the device has published (saved state).</summary>
    public ushort UsedIndex { get => _usedIndex; set => _usedIndex = value; }

    /// <summary>Takes the next request into <paramref name="chain"/> (refilled, not allocated); false when the guest has posted nothing new.</summary>
    public bool TryPop(DescriptorChain chain)
    {
        ushort availableIndex = ReadU16(availableRing + 2);
        if ((ushort)(availableIndex - _lastAvailable) > Size)
            throw new VirtqueueException($"available index {availableIndex} is more than a queue ({Size}) ahead of {_lastAvailable}");
        if (availableIndex == _lastAvailable) return false;
        Interlocked.MemoryBarrier(); // read ring entries only after the index that published them
        ushort head = ReadU16(availableRing + 4 + 2UL * (ushort)(_lastAvailable % Size));
        _lastAvailable++;
        Walk(head, chain);
        return true;
    }

    /// <summary>
    /// Puts back the request <see cref="TryPop"/> took last, before anything was pushed for it: the next pop takes it again.
    /// A request that must wait (Storage QoS) stays in the guest's ring this way, where a save finds it.
    /// </summary>
    public void Unpop() => _lastAvailable--;

    private void Walk(ushort head, DescriptorChain chain)
    {
        chain.Start(head);
        ulong table = descriptorTable;
        uint tableSize = Size;
        uint index = head;
        bool indirect = false, sawWritable = false;
        for (uint steps = 0; ; steps++)
        {
            if (index >= tableSize) throw new VirtqueueException($"descriptor index {index} is outside a table of {tableSize}");
            if (steps >= tableSize) throw new VirtqueueException($"descriptor chain from {head} loops or is longer than its table ({tableSize})");
            var d = ram.GetSpan(table + 16UL * index, 16);
            ulong address = BinaryPrimitives.ReadUInt64LittleEndian(d);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(d[8..]);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(d[12..]);
            ushort next = BinaryPrimitives.ReadUInt16LittleEndian(d[14..]);
            if ((flags & IndirectFlag) != 0)
            {
                if (indirect) throw new VirtqueueException("an indirect descriptor table points to another indirect table");
                if ((flags & NextFlag) != 0) throw new VirtqueueException("an indirect descriptor also has NEXT set");
                if (length == 0 || length % 16 != 0 || length / 16 > 32768) throw new VirtqueueException($"indirect table length {length} is not a multiple of 16 up to 32768 entries");
                if (!ram.Contains(address, length)) throw new VirtqueueException($"indirect table at 0x{address:X} is not inside guest RAM");
                table = address; tableSize = length / 16; index = 0; indirect = true;
                steps = uint.MaxValue; // the loop's increment restarts the step count at 0 for the indirect table
                continue;
            }
            bool writable = (flags & WriteFlag) != 0;
            if (!writable && sawWritable) throw new VirtqueueException("a device-readable buffer follows a device-writable one");
            sawWritable |= writable;
            if (length > 0 && !ram.Contains(address, length)) throw new VirtqueueException($"buffer 0x{address:X}+{length} is not inside guest RAM");
            chain.Add(new GuestBuffer(address, length, writable));
            if ((flags & NextFlag) == 0) return;
            index = next;
        }
    }

    /// <summary>Returns a finished request to the guest with the number of bytes the device wrote.</summary>
    public void Push(ushort head, uint written)
    {
        ulong element = usedRing + 4 + 8UL * (ushort)(_usedIndex % Size);
        WriteU32(element, head);
        WriteU32(element + 4, written);
        Interlocked.MemoryBarrier(); // the element is visible before the index that publishes it
        _usedIndex++;
        WriteU16(usedRing + 2, _usedIndex);
    }

    /// <summary>Whether the guest wants an interrupt for what was pushed since the last call (flags or used_event).</summary>
    public bool ShouldInterrupt()
    {
        Interlocked.MemoryBarrier();
        bool result;
        if (eventIndex)
        {
            ushort usedEvent = ReadU16(availableRing + 4 + 2UL * Size);
            // Interrupt if used_event lies in (last signalled, new used]: the spec's vring_need_event.
            result = !_signalledOnce || (ushort)(_usedIndex - usedEvent - 1) < (ushort)(_usedIndex - _lastSignalledUsed);
        }
        else result = (ReadU16(availableRing) & AvailNoInterrupt) == 0;
        _lastSignalledUsed = _usedIndex;
        _signalledOnce = true;
        return result;
    }

    private ushort ReadU16(ulong a) => BinaryPrimitives.ReadUInt16LittleEndian(ram.GetSpan(a, 2));
    private void WriteU16(ulong a, ushort v) { BinaryPrimitives.WriteUInt16LittleEndian(ram.GetSpan(a, 2), v); ram.NotifyWritten(a, 2); }
    private void WriteU32(ulong a, uint v) { BinaryPrimitives.WriteUInt32LittleEndian(ram.GetSpan(a, 4), v); ram.NotifyWritten(a, 4); }

    /// <summary>Turns a guest-memory refusal during a walk into a queue error.</summary>
    public static VirtqueueException Broken(GuestMemoryAccessException e) => new($"the guest pointed the queue outside RAM: {e.Message}");
}
