using System.Buffers.Binary;

namespace HyperSharp.Hypervisor.Testing;

/// <summary>One port or MMIO access a guest made: a write's value, or the answer a read got.</summary>
public readonly record struct IoAccess(AddressSpace Space, ulong Address, int Size, bool IsWrite, ulong Value)
{
    public bool IsPort => Space == AddressSpace.Port;
    public override string ToString() => $"{Space} {(IsWrite ? "write" : "read")} 0x{Address:X} size {Size} value 0x{Value:X}";
}

/// <summary>
/// A dispatcher for tests that drive a processor access by access: it records each access, answers reads
/// with <see cref="Answer"/>, and asks the processor to stop at each, so Run returns at the instruction
/// boundary after it and the test sees the state between accesses. A backend that stops only at the end of
/// a block of instructions may make several accesses in one Run: they queue, and <see cref="Next"/> takes them in order.
/// </summary>
internal sealed class IoStepper(IVirtualProcessor vp) : IIoDispatcher
{
    private readonly Queue<IoAccess> _unseen = new();
    private bool _stopAtAccess = true;

    /// <summary>What a read returns (little-endian, the access's size); the access passed has Value 0.</summary>
    public Func<IoAccess, ulong> Answer { get; set; } = _ => 0;

    /// <summary>Every access so far, in order.</summary>
    public List<IoAccess> All { get; } = [];

    /// <summary>Runs the processor until its next access (or takes one already made) and returns it; fails naming the exit when Run ends without one.</summary>
    public IoAccess Next()
    {
        if (_unseen.Count > 0) return _unseen.Dequeue();
        _stopAtAccess = true;
        var exit = vp.Run(this);
        if (_unseen.Count == 0) throw new Xunit.Sdk.XunitException($"processor {vp.Id} ended Run without a device access: {exit}");
        if (exit.Kind != ExitKind.Cancelled) throw new Xunit.Sdk.XunitException($"processor {vp.Id} stopped at an access with {exit}, not Cancelled");
        return _unseen.Dequeue();
    }

    /// <summary>Runs the processor until a lifecycle exit, recording accesses without stopping at them.</summary>
    public VirtualProcessorExit RunToExit()
    {
        _stopAtAccess = false;
        return vp.Run(this);
    }

    public void PortRead(ushort port, Span<byte> data) => Read(AddressSpace.Port, port, data);
    public void PortWrite(ushort port, ReadOnlySpan<byte> data) => Record(new IoAccess(AddressSpace.Port, port, data.Length, true, Value(data)));
    public void MmioRead(ulong address, Span<byte> data) => Read(AddressSpace.Mmio, address, data);
    public void MmioWrite(ulong address, ReadOnlySpan<byte> data) => Record(new IoAccess(AddressSpace.Mmio, address, data.Length, true, Value(data)));

    private void Read(AddressSpace space, ulong address, Span<byte> data)
    {
        var access = new IoAccess(space, address, data.Length, false, 0);
        ulong value = Answer(access);
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        bytes[..Math.Min(8, data.Length)].CopyTo(data);
        Record(access with { Value = Value(data) });
    }

    private void Record(IoAccess access)
    {
        lock (All) All.Add(access);
        if (!_stopAtAccess) return;
        _unseen.Enqueue(access);
        vp.RequestStop();
    }

    private static ulong Value(ReadOnlySpan<byte> data)
    {
        Span<byte> bytes = stackalloc byte[8];
        bytes.Clear();
        data[..Math.Min(8, data.Length)].CopyTo(bytes);
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }
}

/// <summary>A dispatcher for guests that must touch no device: any access fails the test, naming it.</summary>
internal sealed class NoIo : IIoDispatcher
{
    public static readonly NoIo Instance = new();
    public void PortRead(ushort port, Span<byte> data) => throw Unexpected($"port read 0x{port:X}");
    public void PortWrite(ushort port, ReadOnlySpan<byte> data) => throw Unexpected($"port write 0x{port:X}");
    public void MmioRead(ulong address, Span<byte> data) => throw Unexpected($"MMIO read 0x{address:X}");
    public void MmioWrite(ulong address, ReadOnlySpan<byte> data) => throw Unexpected($"MMIO write 0x{address:X}");
    private static Xunit.Sdk.XunitException Unexpected(string what) => new($"the guest made an unexpected device access: {what}");
}
