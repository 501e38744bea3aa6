namespace HyperSharp.Hypervisor.Emulated.Tests.Differential.Sequences;

/// <summary>
/// One differential test case: a straight-line instruction sequence and the processor state it starts from.
/// RBP and RSP are the harness's: RBP points at the case's <see cref="Data"/> page and RSP at its end, so
/// memory operands ([rbp+disp]) and pushes land in memory that is compared afterwards.
/// </summary>
internal sealed class SequenceCase
{
    public const int DataSize = 256;
    public const int FxSize = 512;

    /// <summary>The sequence as units the shrinker may drop one at a time (a unit is one instruction or a
    /// small group that only makes sense together, e.g. the register setup of a string instruction).</summary>
    public List<byte[]> Parts { get; init; } = new();
    public ulong[] Regs { get; init; } = new ulong[16];
    /// <summary>Status flags and DF to start with (the harness adds the fixed bit; IF stays clear).</summary>
    public ulong Flags { get; set; }
    /// <summary>FXSAVE image loaded with FXRSTOR before the sequence: x87 stack and control, MXCSR, XMM0-15.</summary>
    public byte[] Fx { get; init; } = new byte[FxSize];
    public byte[] Data { get; init; } = new byte[DataSize];

    public byte[] Code => Parts.SelectMany(p => p).ToArray();

    public SequenceCase WithParts(List<byte[]> parts) => new()
    {
        Parts = parts, Regs = (ulong[])Regs.Clone(), Flags = Flags, Fx = (byte[])Fx.Clone(), Data = (byte[])Data.Clone(),
    };
}

/// <summary>What a processor left after running a <see cref="SequenceCase"/>: the state at its end, or at the exception it raised.</summary>
internal sealed class SequenceResult
{
    public const int NoFault = -1;

    public ulong[] Regs { get; init; } = new ulong[16];
    public ulong Flags { get; set; }
    public byte[] Fx { get; init; } = new byte[SequenceCase.FxSize];
    public byte[] Data { get; init; } = new byte[SequenceCase.DataSize];
    /// <summary>Exception vector raised inside the sequence, or <see cref="NoFault"/>.</summary>
    public int Vector { get; set; } = NoFault;
    public ulong ErrorCode { get; set; }
    /// <summary>RIP pushed by the exception, as an offset from the sequence's first byte.</summary>
    public ulong FaultOffset { get; set; }
    public ulong Cr2 { get; set; }
}
