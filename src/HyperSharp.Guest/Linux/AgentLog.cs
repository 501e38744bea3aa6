namespace HyperSharp.Guest.Linux;

/// <summary>
/// The agent's log: standard error (the kit's console, or the journal under systemd) and, for what an administrator
/// must be able to find afterwards (a shutdown the host asked for, a freeze), the kernel log instead
/// (which the console shows too).
/// </summary>
internal static class AgentLog
{
    public static void Info(string message) => Console.Error.WriteLine($"hs-agent: {message}");

    /// <summary>Also to /dev/kmsg, so dmesg and the console show it even when the agent's own output goes nowhere.</summary>
    public static void Kernel(string message)
    {
        try { File.AppendAllText("/dev/kmsg", $"<5>hs-agent: {message}\n"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Info(message); }
    }
}
