using System.Diagnostics;
using HyperSharp.Machine.Tests;

namespace HyperSharp.Integration.Tests.Guest;

/// <summary>The guest kit with the agent: the kit's initrd, the agent's archive from eng/guest/build-agent.sh, and a test's /init.d scripts.</summary>
public static class AgentKit
{
    private static readonly Lazy<(string? Dir, string Why)> Agent = new(() => Build(null));
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<(string? Dir, string Why)>> Versions = new();

    /// <summary>The agent as the kit carries it (version 1.0.0).</summary>
    public static (string? Dir, string Why) Get() => Agent.Value;

    /// <summary>Another build of the agent, stamped <paramref name="version"/> and signed by the same publisher key (an update for the kit's).</summary>
    public static (string? Dir, string Why) Get(string version) => Versions.GetOrAdd(version, v => new(() => Build(v))).Value;

    private static (string?, string) Build(string? version)
    {
        string script = Path.Combine(GuestKit.RepoRoot(), "eng", "guest", "build-agent.sh");
        var psi = new ProcessStartInfo("bash", [script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (version is not null) psi.Environment["HYPERSHARP_AGENT_VERSION"] = version;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(900_000)) { p.Kill(true); return (null, "building the agent took over 15 minutes"); }
        string dir = stdout.Result.Trim();
        return p.ExitCode == 0 && File.Exists(Path.Combine(dir, "agent.cpio.gz"))
            ? (dir, "")
            : (null, $"the agent could not be built (exit {p.ExitCode}): {stderr.Result.Trim()}");
    }

    /// <summary>The development activation key build-agent.sh made beside its cache (the agents it builds carry its public half).</summary>
    public static string ActivationKeyFile(string agentDirectory) => Path.GetFullPath(Path.Combine(agentDirectory, "..", "..", "activation-key.pem"));

    /// <summary>An initrd of the kit + the agent + <paramref name="scripts"/> in /init.d/.</summary>
    public static string Initrd(string kit, string agent, string workDirectory, IReadOnlyDictionary<string, string> scripts)
    {
        string initrd = GuestOverlay.Build(kit, workDirectory, scripts);
        using var output = new FileStream(initrd, FileMode.Append);
        using var archive = File.OpenRead(Path.Combine(agent, "agent.cpio.gz"));
        archive.CopyTo(output);
        return initrd;
    }
}
