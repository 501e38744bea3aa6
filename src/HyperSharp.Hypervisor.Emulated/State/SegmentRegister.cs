namespace HyperSharp.Hypervisor.Emulated.State;

/// <summary>A segment register: the visible selector plus the hidden descriptor cache the CPU loaded with it.</summary>
/// <remarks>
/// Attributes use the VMX/KVM "access rights" layout so the adapter maps it 1:1:
/// bits 0-3 type, 4 S, 5-6 DPL, 7 P, 12 AVL, 13 L, 14 D/B, 15 G.
/// </remarks>
public struct SegmentRegister
{
    public ushort Selector;
    public ulong Base;
    public uint Limit;
    public ushort Attributes;

    public readonly bool Present => (Attributes & 0x80) != 0;
    public readonly int Dpl => (Attributes >> 5) & 3;
    public readonly bool Long => (Attributes & 0x2000) != 0;
    public readonly bool DefaultBig => (Attributes & 0x4000) != 0;
    public readonly int Type => Attributes & 0xF;
    public readonly bool IsSystem => (Attributes & 0x10) == 0;

    public SegmentRegister(ushort selector, ulong @base, uint limit, ushort attributes)
    {
        Selector = selector;
        Base = @base;
        Limit = limit;
        Attributes = attributes;
    }

    /// <summary>Builds the cache from an 8-byte GDT/LDT descriptor (the low half for 16-byte system descriptors).</summary>
    public static SegmentRegister FromDescriptor(ushort selector, ulong desc, ulong highHalf = 0)
    {
        ulong @base = ((desc >> 16) & 0xFFFFFF) | (((desc >> 56) & 0xFF) << 24);
        uint limit = (uint)((desc & 0xFFFF) | (((desc >> 48) & 0xF) << 16));
        ushort attr = (ushort)(((desc >> 40) & 0xFF) | (((desc >> 52) & 0xF) << 12));
        if ((attr & 0x8000) != 0) limit = (limit << 12) | 0xFFF;
        if ((attr & 0x10) == 0) @base |= highHalf << 32; // system descriptors are 16 bytes in long mode
        return new SegmentRegister(selector, @base, limit, attr);
    }

    /// <summary>The real-mode / VM86 cache for a selector: base = selector * 16, 64 KiB limit, data read/write.</summary>
    public static SegmentRegister RealMode(ushort selector, ushort attributes = 0x93)
        => new(selector, (ulong)selector << 4, 0xFFFF, attributes);
}

/// <summary>GDTR or IDTR: a linear base and a limit.</summary>
public struct DescriptorTableRegister
{
    public ulong Base;
    public ushort Limit;
    public DescriptorTableRegister(ulong @base, ushort limit) { Base = @base; Limit = limit; }
}
