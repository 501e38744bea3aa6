namespace HyperSharp.Hypervisor.Emulated.Execution;

/// <summary>
/// The DR0-3 instruction and data breakpoints as a processor checks them (DR7 L/G, R/W 00 execute, 01 write, 11 read/write;
/// LEN 1/2/4/8), over the debug registers it is given. While any is enabled the processor runs one instruction at a time
/// (like TF): execute breakpoints are checked before each instruction (unless RFLAGS.RF), data breakpoints in the memory
/// slow path — the TLB is not filled for pages holding one, so every access to them is seen.
/// </summary>
/// <remarks>A struct in its processor's field: the run loop's test of <see cref="Active"/> stays one load from the
/// processor.</remarks>
internal struct Breakpoints
{
    /// <summary>Some breakpoint is enabled in DR7.</summary>
    public bool Active;
    /// <summary>Some enabled breakpoint watches data (R/W 01 or 11).</summary>
    public bool Data;
    /// <summary>DR6 B0-B3 of the data breakpoints the current instruction hit (reported as a #DB trap after it).</summary>
    public uint Pending;

    /// <summary>Recomputes <see cref="Active"/> and <see cref="Data"/> after DR0-3/DR7 (<paramref name="dr"/>) changed.</summary>
    public void Update(ulong[] dr)
    {
        ulong dr7 = dr[7];
        Active = (dr7 & 0xFF) != 0;
        Data = false;
        for (int i = 0; i < 4; i++)
            if (Enabled(dr, i) && ((dr7 >> (16 + i * 4)) & 1) != 0) Data = true; // R/W 01 or 11
    }

    private static bool Enabled(ulong[] dr, int i) => ((dr[7] >> (i * 2)) & 3) != 0;
    private static int Kind(ulong[] dr, int i) => (int)(dr[7] >> (16 + i * 4)) & 3;
    private static ulong Length(ulong[] dr, int i) => ((dr[7] >> (18 + i * 4)) & 3) switch { 0 => 1, 1 => 2, 2 => 8, _ => 4 };

    /// <summary>True when an enabled data breakpoint lies in the 4 KiB page of <paramref name="lin"/> (no TLB fill then).</summary>
    public static bool PageHasData(ulong[] dr, ulong lin)
    {
        for (int i = 0; i < 4; i++)
            if (Enabled(dr, i) && (Kind(dr, i) & 1) != 0 && (dr[i] & ~0xFFFUL) == (lin & ~0xFFFUL)) return true;
        return false;
    }

    /// <summary>Records in <see cref="Pending"/> the data breakpoints an access hits.</summary>
    public void CheckData(ulong[] dr, ulong lin, int size, bool write)
    {
        for (int i = 0; i < 4; i++)
        {
            if (!Enabled(dr, i)) continue;
            int kind = Kind(dr, i);
            if (kind == 1 ? !write : kind != 3) continue;
            ulong len = Length(dr, i), start = dr[i] & ~(len - 1);
            if (lin < start + len && start < lin + (ulong)size) Pending |= 1u << i;
        }
    }

    /// <summary>The enabled execute breakpoint at the instruction about to run, or -1 (RF suppresses it once).</summary>
    public static int ExecuteAt(ulong[] dr, ulong rflags, ulong lin)
    {
        if ((rflags & Rf.RF) != 0) return -1;
        for (int i = 0; i < 4; i++)
            if (Enabled(dr, i) && Kind(dr, i) == 0 && dr[i] == lin) return i;
        return -1;
    }
}
