namespace HyperSharp.Hypervisor.Emulated.Memory;

/// <summary>
/// How the CPU leaves to the VMM: guest-physical accesses outside RAM (MMIO) and port I/O.
/// The vCPU thread calls these synchronously, in the middle of the instruction that made the access.
/// </summary>
public interface ICpuIoHandler
{
    void MmioRead(ulong physicalAddress, Span<byte> data);
    void MmioWrite(ulong physicalAddress, ReadOnlySpan<byte> data);
    /// <summary>Reads <paramref name="size"/> (1, 2 or 4) bytes from an I/O port.</summary>
    uint PortRead(ushort port, int size);
    void PortWrite(ushort port, int size, uint value);
}

/// <summary>A handler for CPUs without devices: MMIO reads all-ones, writes and port I/O are ignored.</summary>
public sealed class NullIoHandler : ICpuIoHandler
{
    public static readonly NullIoHandler Instance = new();
    public void MmioRead(ulong physicalAddress, Span<byte> data) => data.Fill(0xFF);
    public void MmioWrite(ulong physicalAddress, ReadOnlySpan<byte> data) { }
    public uint PortRead(ushort port, int size) => size == 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
    public void PortWrite(ushort port, int size, uint value) { }
}
