namespace HyperSharp.Integration.Protocol;

/// <summary>
/// Protocol versions. Each side announces the versions it speaks in its Hello and both use the newest one in
/// common; a peer with none in common gets an Error naming both lists and the connection closes.
/// Version 1: heartbeat, shutdown, time synchronization, KVP, VSS freeze/thaw, file copy.
/// Version 2: adds exec (a command with streamed stdin/stdout/stderr, signals and its exit code).
/// Version 3: adds agent updates (the host offers a newer agent signed by its publisher; the agent replaces itself).
/// Version 4: adds exec as a guest account (PowerShell Direct -Credential): user and password, checked by the agent.
/// An older agent would ignore those fields and run the command as itself, so the host never sends them to one.
/// </summary>
public static class ProtocolVersions
{
    public const int Current = 4;
    public const int Oldest = 1;

    /// <summary>The versions a build speaks, from <paramref name="newest"/> down to <see cref="Oldest"/> (a lower newest plays an older build).</summary>
    public static int[] Supported(int newest = Current) =>
        newest < Oldest || newest > Current ? throw new ArgumentOutOfRangeException(nameof(newest), $"protocol {newest}: this build speaks {Oldest} to {Current}")
        : Enumerable.Range(Oldest, newest - Oldest + 1).Reverse().ToArray();

    /// <summary>The newest version both lists hold, or null.</summary>
    public static int? Negotiate(IReadOnlyCollection<int> ours, IReadOnlyCollection<int> theirs)
    {
        int? best = null;
        foreach (int v in ours) if (theirs.Contains(v) && (best is null || v > best)) best = v;
        return best;
    }

    /// <summary>The version a feature first appeared in.</summary>
    public const int Exec = 2;

    /// <summary>The version agent updates first appeared in.</summary>
    public const int Update = 3;

    /// <summary>The version exec as a guest account (user and password) first appeared in.</summary>
    public const int ExecAsUser = 4;
}

/// <summary>Where the agent finds the host: a guest-initiated vsock connection to the host (CID 2) on this port.</summary>
public static class AgentPort
{
    /// <summary>0x4853, "HS": the host listens at its vsock socket's path + "_18515".</summary>
    public const uint Number = 18515;
}
