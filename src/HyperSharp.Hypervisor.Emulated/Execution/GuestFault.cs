namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>Exception vectors.</summary>
public static class Vec
{
    public const int DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8, TS = 10, NP = 11,
        SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18, XM = 19;

    internal static bool HasErrorCode(int v) => v is DF or TS or NP or SS or GP or PF or AC or 21;
    internal static bool Contributory(int v) => v is DE or TS or NP or SS or GP;
}

/// <summary>
/// A guest exception detected while executing an instruction. Thrown out of the handler (whose
/// architectural register state is untouched at that point) and delivered through the IDT by the run loop.
/// </summary>
internal sealed class GuestFault : Exception
{
    public int Vector;
    public uint ErrorCode;
    public GuestFault() : base("guest fault") { }
}

/// <summary>How an event entered: decides the IDT gate DPL check, the EXT bit, and the pushed RIP.</summary>
internal enum EventKind { Exception, External, Software, SoftwareException }
