namespace HyperSharp.Machine.Boot;

/// <summary>
/// Kernel parameters this virtual platform adds to the administrator's command line, each because real hardware
/// makes a promise our processors cannot keep while they share the host with other work.
/// </summary>
public static class PlatformCommandLine
{
    /// <summary>
    /// Linux proves the timer interrupt works early in boot by spinning on the TSC for a bounded number of cycles
    /// and counting PIT ticks (io_apic.c, timer_irq_works). The TSC is host time, and a vCPU thread starved by a
    /// loaded host sees too few ticks in that window, so the kernel tries the 8259 fallbacks and panics with
    /// "IO-APIC + timer doesn't work!" (seen on a 2-core host at load 40). Linux skips the check itself on Hyper-V
    /// and KVM for the same reason (no_timer_check = 1 when it detects them); we present neither, so we say it.
    /// </summary>
    public const string NoTimerCheck = "no_timer_check";

    /// <summary>
    /// Memory hot-added while the guest runs must be onlined before the guest can use it; Debian's kernel leaves it
    /// offline for user space to decide (CONFIG_MEMORY_HOTPLUG_DEFAULT_ONLINE unset), and our guests need no udev rule
    /// for it. Movable, so the guest can empty and unplug it again when the host shrinks the VM.
    /// </summary>
    public const string OnlineHotAddedMemory = "memhp_default_state=online_movable";

    /// <summary>The command line the guest gets: the administrator's, then each platform parameter it does not name already.</summary>
    public static string For(string commandLine, bool hotAddMemory = false)
    {
        var words = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string line = words.Contains(NoTimerCheck) ? commandLine : $"{commandLine.TrimEnd()} {NoTimerCheck}".TrimStart();
        if (hotAddMemory && !words.Any(w => w.StartsWith("memhp_default_state=", StringComparison.Ordinal))) line += " " + OnlineHotAddedMemory;
        return line;
    }
}
