namespace HyperSharp.Guest;

/// <summary>
/// What the services change in the guest: the clock, power, file-system freezes, processes. The agent uses
/// <see cref="Linux.LinuxGuestSystem"/>; protocol tests run the same services in-process against a double.
/// </summary>
public interface IGuestSystem
{
    void SetClock(DateTimeOffset time);

    /// <summary>Syncs the file systems and powers off (never returns on a real guest).</summary>
    void PowerOff(string reason);

    /// <summary>Mount points of freezable file systems, in mount order.</summary>
    IReadOnlyList<string> FreezableMountPoints();

    void Freeze(string mountPoint);

    void Thaw(string mountPoint);

    void Signal(int processId, int signal);

    /// <summary>The agent's own executable, which an update replaces.</summary>
    string ExecutablePath { get; }

    /// <summary>Starts this agent over as the executable now at <see cref="ExecutablePath"/>, in the same process (never returns on a real guest).</summary>
    void Restart();

    /// <summary>Where the KVP pools are kept (Linux's hv_kvp_daemon uses /var/lib/hyperv).</summary>
    string KvpDirectory { get; }
}
