namespace HyperSharp.Hypervisor.State;

/// <summary>
/// A segment register with its hidden (descriptor cache) part. <see cref="Attributes"/> uses the VMX access-rights
/// layout: bits 0-3 type, 4 S, 5-6 DPL, 7 P, 12 AVL, 13 L, 14 D/B, 15 G, 16 unusable.
/// </summary>
public readonly record struct SegmentRegister(ushort Selector, ulong Base, uint Limit, uint Attributes)
{
    /// <summary>Attribute bit: descriptor present.</summary>
    public const uint Present = 1u << 7;
    /// <summary>Attribute bit: code or data (not system) descriptor.</summary>
    public const uint CodeOrData = 1u << 4;
    /// <summary>Attribute bit: 64-bit code segment.</summary>
    public const uint LongMode = 1u << 13;
    /// <summary>Attribute bit: 32-bit default operand size.</summary>
    public const uint DefaultBig = 1u << 14;
    /// <summary>Attribute bit: limit counted in 4 KiB units.</summary>
    public const uint Granularity = 1u << 15;
    /// <summary>Attribute bit: the register holds no usable segment (null selector loaded).</summary>
    public const uint Unusable = 1u << 16;

    /// <summary>Descriptor type (bits 0-3).</summary>
    public int Type => (int)(Attributes & 0xF);

    /// <summary>Descriptor privilege level.</summary>
    public int Dpl => (int)((Attributes >> 5) & 3);
}

/// <summary>GDTR or IDTR: linear base and limit of a descriptor table.</summary>
public readonly record struct TableRegister(ulong Base, ushort Limit);

/// <summary>One model-specific register and its value.</summary>
public readonly record struct MsrEntry(uint Index, ulong Value);
