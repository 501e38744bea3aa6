namespace HyperSharp.Hypervisor;

/// <summary>
/// The VMM's device buses as a backend calls them: every port and MMIO access the backend does not
/// answer itself (its interrupt controllers, timer and doorbells) goes here, on the thread that runs the
/// processor, in the middle of the guest's instruction. A read fills <c>data</c> (what the guest then
/// loads); a write passes what the guest stored. String port I/O (INS/OUTS) arrives one element per call.
/// Implementations must be thread-safe: every processor thread may call them at once. An exception
/// thrown here leaves <see cref="IVirtualProcessor.Run"/> and the processor's state undefined: devices
/// answer the guest's mistakes with all-ones instead of throwing.
/// </summary>
public interface IIoDispatcher
{
    void PortRead(ushort port, Span<byte> data);
    void PortWrite(ushort port, ReadOnlySpan<byte> data);
    void MmioRead(ulong address, Span<byte> data);
    void MmioWrite(ulong address, ReadOnlySpan<byte> data);
}
