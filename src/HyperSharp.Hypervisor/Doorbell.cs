namespace HyperSharp.Hypervisor;

/// <summary>A guest-writable address that notifies a device (a virtqueue notify register): port or MMIO, length, optional value filter.</summary>
/// <param name="Space">Port I/O or memory-mapped I/O.</param>
/// <param name="Address">Port number or guest physical address.</param>
/// <param name="Length">Access size in bytes that matches: 1, 2, 4 or 8.</param>
/// <param name="DataMatch">When set, only writes of exactly this value signal; other writes exit as usual.</param>
public sealed record Doorbell(AddressSpace Space, ulong Address, int Length, ulong? DataMatch = null)
{
    /// <summary>Throws when the doorbell cannot be honoured on any backend.</summary>
    public void Validate()
    {
        if (Length is not (1 or 2 or 4 or 8))
            throw new HypervisorException($"Doorbell at 0x{Address:X}: length {Length} must be 1, 2, 4 or 8.");
        if (Space == AddressSpace.Port && Address > 0xFFFF)
            throw new HypervisorException($"Doorbell port 0x{Address:X} is above 0xFFFF.");
    }

    /// <summary>True when a guest write of <paramref name="length"/> bytes of <paramref name="value"/> at this address rings the doorbell.</summary>
    public bool Matches(AddressSpace space, ulong address, int length, ulong value) =>
        space == Space && address == Address && length == Length && (DataMatch is null || DataMatch.Value == value);
}

/// <summary>Which of the two x86 address spaces an access uses.</summary>
public enum AddressSpace
{
    /// <summary>IN/OUT ports 0-0xFFFF.</summary>
    Port,
    /// <summary>Guest physical memory addresses not backed by RAM.</summary>
    Mmio,
}
