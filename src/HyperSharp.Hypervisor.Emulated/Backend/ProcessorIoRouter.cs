using System.Buffers.Binary;
using HyperSharp.Hypervisor.Emulated.Memory;
using HyperSharp.Hypervisor.Platform;

namespace HyperSharp.Hypervisor.Emulated.Backend;

/// <summary>
/// Where one emulated vCPU's port and MMIO accesses go, in the middle of the instruction that makes them:
/// its local APIC, the partition's I/O APIC, PICs and PIT, doorbells, and otherwise the VMM's dispatcher
/// that the current <see cref="EmulatedVirtualProcessor.Run"/> was given.
/// </summary>
internal sealed class ProcessorIoRouter(EmulatedPartition partition, LocalApic apic, Func<ulong> apicPage, Action interruptLineChanged) : ICpuIoHandler
{
    private IIoDispatcher _dispatcher = Unattached.Instance;

    /// <summary>The buses of the Run in progress (set by the processor thread before it runs guest code).</summary>
    public IIoDispatcher Dispatcher
    {
        set
        {
            _dispatcher = value;
            InDispatcher = false;
        }
    }

    /// <summary>
    /// True while a call into the dispatcher has not returned: an exception seen with this set came from the
    /// VMM's devices, not from the processor, and leaves Run as it is instead of becoming an InternalError.
    /// </summary>
    public bool InDispatcher { get; private set; }

    public void MmioRead(ulong address, Span<byte> data)
    {
        ulong apicBase = apicPage();
        if (address - apicBase < 0x1000) { Put(data, apic.Read((int)(address - apicBase))); return; }
        if (partition.Platform.IsIoApic(address)) { Put(data, partition.Platform.IoApic.Read(address & 0xFF)); return; }
        InDispatcher = true;
        _dispatcher.MmioRead(address, data);
        InDispatcher = false;
    }

    public void MmioWrite(ulong address, ReadOnlySpan<byte> data)
    {
        ulong apicBase = apicPage();
        if (address - apicBase < 0x1000) { apic.Write((int)(address - apicBase), Get(data)); interruptLineChanged(); return; }
        if (partition.Platform.IsIoApic(address)) { partition.Platform.IoApic.Write(address & 0xFF, Get(data)); return; }
        if (partition.RingDoorbell(AddressSpace.Mmio, address, data.Length, Get64(data))) return;
        InDispatcher = true;
        _dispatcher.MmioWrite(address, data);
        InDispatcher = false;
    }

    public uint PortRead(ushort port, int size)
    {
        if (partition.Platform.TryPortRead(port, size, out uint value)) return value;
        Span<byte> bytes = stackalloc byte[4];
        bytes.Clear();
        InDispatcher = true;
        _dispatcher.PortRead(port, bytes[..size]);
        InDispatcher = false;
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }

    public void PortWrite(ushort port, int size, uint value)
    {
        if (partition.Platform.TryPortWrite(port, size, value)) { interruptLineChanged(); return; }
        if (partition.RingDoorbell(AddressSpace.Port, port, size, value)) return;
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        InDispatcher = true;
        _dispatcher.PortWrite(port, bytes[..size]); // an interrupt it raises reaches the APICs through the partition, which kicks us
        InDispatcher = false;
    }

    private static void Put(Span<byte> data, uint value)
    {
        for (int i = 0; i < data.Length; i++) data[i] = i < 4 ? (byte)(value >> (8 * i)) : (byte)0;
    }

    private static uint Get(ReadOnlySpan<byte> data)
    {
        uint v = 0;
        for (int i = 0; i < data.Length && i < 4; i++) v |= (uint)data[i] << (8 * i);
        return v;
    }

    private static ulong Get64(ReadOnlySpan<byte> data)
    {
        ulong v = 0;
        for (int i = 0; i < data.Length && i < 8; i++) v |= (ulong)data[i] << (8 * i);
        return v;
    }

    /// <summary>Between Runs nothing executes guest code; a stray access (a test driving the CPU directly) fails loudly.</summary>
    private sealed class Unattached : IIoDispatcher
    {
        public static readonly Unattached Instance = new();
        public void PortRead(ushort port, Span<byte> data) => throw Outside();
        public void PortWrite(ushort port, ReadOnlySpan<byte> data) => throw Outside();
        public void MmioRead(ulong address, Span<byte> data) => throw Outside();
        public void MmioWrite(ulong address, ReadOnlySpan<byte> data) => throw Outside();
        private static InvalidOperationException Outside() => new("a device access outside IVirtualProcessor.Run (no dispatcher)");
    }
}
