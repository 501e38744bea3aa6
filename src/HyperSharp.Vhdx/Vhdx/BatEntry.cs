namespace HyperSharp.Vhdx.Vhdx;

/// <summary>Block states of a BAT entry (payload and sector-bitmap entries share the 3-bit field).</summary>
internal enum BlockState : byte
{
    NotPresent = 0,
    Undefined = 1,
    Zero = 2,
    Unmapped = 3,
    FullyPresent = 6,
    PartiallyPresent = 7,
}

/// <summary>Packing and unpacking of the 64-bit BAT entry: state in bits 0-2, file offset in MiB in bits 20-63.</summary>
internal static class BatEntry
{
    public const ulong ReservedMask = 0xFFFF8; // bits 3..19

    public static BlockState State(ulong entry) => (BlockState)(entry & 7);

    public static long FileOffset(ulong entry) => (long)(entry >> 20) * VhdxFormat.MiB;

    public static ulong Make(BlockState state, long fileOffset) => ((ulong)(fileOffset / VhdxFormat.MiB) << 20) | (ulong)state;

    /// <summary>True for states whose data lives in the file.</summary>
    public static bool HasData(BlockState s) => s is BlockState.FullyPresent or BlockState.PartiallyPresent;

    public static bool IsValidPayloadState(BlockState s, bool differencing) =>
        s is BlockState.NotPresent or BlockState.Undefined or BlockState.Zero or BlockState.Unmapped or BlockState.FullyPresent
        || (s == BlockState.PartiallyPresent && differencing);

    public static bool IsValidBitmapState(BlockState s, bool differencing) =>
        s == BlockState.NotPresent || (s == BlockState.FullyPresent && differencing); // SB_BLOCK_PRESENT = 6
}
