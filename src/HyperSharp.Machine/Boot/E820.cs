namespace HyperSharp.Machine.Boot;

/// <summary>Kinds of memory in the BIOS e820 map the kernel reads from boot_params.</summary>
public enum E820Type : uint { Ram = 1, Reserved = 2, Acpi = 3, Nvs = 4, Unusable = 5 }

/// <summary>One range of the guest's physical memory map.</summary>
public readonly record struct E820Entry(ulong Address, ulong Size, E820Type Type)
{
    public ulong End => Address + Size;
}
