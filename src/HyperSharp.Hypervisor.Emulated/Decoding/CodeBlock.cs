namespace HyperSharp.Hypervisor.Emulated.Decoding;

/// <summary>
/// A run of decoded instructions starting at one guest-physical address, ending at an unconditional
/// control transfer, an instruction that changes how later code decodes, or the end of its 4 KiB page
/// (a block never spans pages, so one exec-permission check and one page invalidation cover it).
/// The array ends with a sentinel whose handler leaves the block with RIP just past the last instruction.
/// </summary>
internal sealed class CodeBlock
{
    public readonly ulong PhysicalAddress;
    /// <summary>Decode mode: 16, 32 or 64.</summary>
    public readonly int Bitness;
    public readonly DecodedInstruction[] Instructions;
    /// <summary>Cleared (once) when guest memory under the block is written; every cache checks it.</summary>
    public volatile bool Valid = true;
    /// <summary>False for a page-straddling instruction decoded from a copy: never kept in any cache.</summary>
    public bool Cacheable = true;
    /// <summary>Times the interpreter ran the block (racy between vCPUs: it only decides when to compile).</summary>
    public int Heat;
    /// <summary>The compiled block once it got hot (see Translation/), else null. Set once, read by every vCPU.</summary>
    public volatile Translation.TranslatedBlock? Translated;

    public CodeBlock(ulong physicalAddress, int bitness, DecodedInstruction[] instructions)
    {
        PhysicalAddress = physicalAddress;
        Bitness = bitness;
        Instructions = instructions;
    }

    public static ulong Key(ulong physicalAddress, int bitness) => physicalAddress | ((ulong)bitness << 56);
}
