namespace HyperSharp.Hypervisor;

/// <summary>An access (usually on behalf of the guest) fell outside guest RAM and was refused before touching host memory.</summary>
public sealed class GuestMemoryAccessException : HypervisorException
{
    /// <summary>Creates the exception for the refused range.</summary>
    public GuestMemoryAccessException(ulong offset, ulong length, ulong size)
        : base($"Guest memory access at 0x{offset:X} length 0x{length:X} is outside guest RAM (size 0x{size:X}); refused.")
    {
        Offset = offset;
        Length = length;
    }

    /// <summary>The offset into guest RAM that was asked for.</summary>
    public ulong Offset { get; }

    /// <summary>The length that was asked for.</summary>
    public ulong Length { get; }
}
