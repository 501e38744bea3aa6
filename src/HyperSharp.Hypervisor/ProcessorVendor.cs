using System.Runtime.Intrinsics.X86;
using System.Text;

namespace HyperSharp.Hypervisor;

/// <summary>
/// The processor vendor a partition presents (CPUID leaf 0's vendor string). On the Emulated backend it also decides
/// every result the manuals leave undefined (flags after shifts, multiplies, divides...), which Intel and AMD processors
/// compute differently; see the emulator's FLAGS.md.
/// </summary>
public enum ProcessorVendor
{
    /// <summary>"GenuineIntel".</summary>
    Intel,
    /// <summary>"AuthenticAMD".</summary>
    Amd,
}

/// <summary>Vendor strings, parsing for configuration, and the vendor of the processor this process runs on.</summary>
public static class ProcessorVendors
{
    /// <summary>The 12-character CPUID vendor string.</summary>
    public static string VendorString(this ProcessorVendor vendor) => vendor switch
    {
        ProcessorVendor.Intel => "GenuineIntel",
        ProcessorVendor.Amd => "AuthenticAMD",
        _ => throw new ArgumentOutOfRangeException(nameof(vendor), vendor, "not a processor vendor"),
    };

    /// <summary>The vendor a CPUID vendor string names, or null for any other vendor.</summary>
    public static ProcessorVendor? FromVendorString(string vendorString) => vendorString switch
    {
        "GenuineIntel" => ProcessorVendor.Intel,
        "AuthenticAMD" => ProcessorVendor.Amd,
        _ => null,
    };

    /// <summary>Parses a configured vendor: "intel" or "amd" (any case), or a CPUID vendor string.</summary>
    public static bool TryParse(string? text, out ProcessorVendor vendor)
    {
        vendor = default;
        if (text is null) return false;
        if (FromVendorString(text.Trim()) is ProcessorVendor v) { vendor = v; return true; }
        return Enum.TryParse(text.Trim(), ignoreCase: true, out vendor) && Enum.IsDefined(vendor);
    }

    /// <summary>The vendor of the processor this process runs on; null on a host that is not x86 or of another vendor.</summary>
    public static ProcessorVendor? Host { get; } = ReadHost();

    /// <summary>The vendor string CPUID leaf 0 spells in EBX, EDX, ECX (in that order).</summary>
    public static string VendorString(uint ebx, uint edx, uint ecx)
    {
        Span<byte> bytes = stackalloc byte[12];
        BitConverter.TryWriteBytes(bytes, ebx);
        BitConverter.TryWriteBytes(bytes[4..], edx);
        BitConverter.TryWriteBytes(bytes[8..], ecx);
        return Encoding.ASCII.GetString(bytes);
    }

    private static ProcessorVendor? ReadHost()
    {
        if (!X86Base.IsSupported) return null;
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        return FromVendorString(VendorString((uint)ebx, (uint)edx, (uint)ecx));
    }
}
