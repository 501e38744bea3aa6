namespace HyperSharp.Hypervisor.Emulated.Execution;

public sealed unsafe partial class X86Cpu
{
    // ---- debug registers: DR0-3 instruction and data breakpoints (DR7 L/G, R/W 00 execute, 01 write,
    // 11 read/write; LEN 1/2/4/8). While any is enabled the CPU runs one instruction at a time (like TF):
    // execute breakpoints are checked before each instruction (unless RFLAGS.RF), data breakpoints in the
    // memory slow path — the TLB is not filled for pages holding one, so every access to them is seen. ----

    internal bool _bpActive, _bpData;
    private uint _bpPending;

    /// <summary>Recomputes the breakpoint state after DR0-3/DR7 changed.</summary>
    internal void UpdateBreakpoints()
    {
        ulong dr7 = Arch.Dr[7];
        _bpActive = (dr7 & 0xFF) != 0;
        _bpData = false;
        for (int i = 0; i < 4; i++)
            if (Enabled(i) && ((dr7 >> (16 + i * 4)) & 1) != 0) _bpData = true; // R/W 01 or 11
        FlushTlb();
    }

    private bool Enabled(int i) => ((Arch.Dr[7] >> (i * 2)) & 3) != 0;
    private int BpKind(int i) => (int)(Arch.Dr[7] >> (16 + i * 4)) & 3;
    private ulong BpLength(int i) => ((Arch.Dr[7] >> (18 + i * 4)) & 3) switch { 0 => 1, 1 => 2, 2 => 8, _ => 4 };

    /// <summary>True when an enabled data breakpoint lies in the 4 KiB page of <paramref name="lin"/> (no TLB fill then).</summary>
    internal bool PageHasDataBreakpoint(ulong lin)
    {
        for (int i = 0; i < 4; i++)
            if (Enabled(i) && (BpKind(i) & 1) != 0 && (Arch.Dr[i] & ~0xFFFUL) == (lin & ~0xFFFUL)) return true;
        return false;
    }

    /// <summary>Records data breakpoints hit by an access (reported as a #DB trap after the instruction).</summary>
    internal void CheckDataBreakpoints(ulong lin, int size, bool write)
    {
        for (int i = 0; i < 4; i++)
        {
            if (!Enabled(i)) continue;
            int kind = BpKind(i);
            if (kind == 1 ? !write : kind != 3) continue;
            ulong len = BpLength(i), start = Arch.Dr[i] & ~(len - 1);
            if (lin < start + len && start < lin + (ulong)size) _bpPending |= 1u << i;
        }
    }

    /// <summary>An enabled execute breakpoint at the instruction about to run (RF suppresses it once).</summary>
    private int ExecuteBreakpointAt(ulong lin)
    {
        if ((Arch.Rflags & Rf.RF) != 0) return -1;
        for (int i = 0; i < 4; i++)
            if (Enabled(i) && BpKind(i) == 0 && Arch.Dr[i] == lin) return i;
        return -1;
    }
}
