namespace HyperSharp.Hypervisor;

/// <summary>
/// The VMM's device buses, offered to a backend that would otherwise hand every port and MMIO access
/// to another thread as an exit. A backend whose processors run on threads of their own (the Emulated
/// backend) calls these directly from the processor thread, saving two thread hand-offs per access
/// (the guest's serial console and ACPI PM timer make hundreds of thousands of accesses while Linux
/// boots). Implementations must be thread-safe: every processor thread may call them at once, as
/// every vCPU thread may dispatch exits at once.
/// </summary>
public interface IIoDispatcher
{
    void PortRead(ushort port, Span<byte> data);
    void PortWrite(ushort port, ReadOnlySpan<byte> data);
    void MmioRead(ulong address, Span<byte> data);
    void MmioWrite(ulong address, ReadOnlySpan<byte> data);
}
