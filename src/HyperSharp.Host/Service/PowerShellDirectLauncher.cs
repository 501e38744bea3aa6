namespace HyperSharp.Host.Service;

/// <summary>
/// The command the agent runs for a PowerShell Direct session: a POSIX shell script (every Linux guest has /bin/sh)
/// that finds PowerShell — hs-pwsh from HyperSharp's PowerShell disk (mounted at /opt/hs-pwsh) or a pwsh the guest
/// installed — and execs it in server mode (-s: the out-of-process remoting protocol on stdin/stdout). A guest with
/// neither exits <see cref="NoPowerShell"/> with a sentence saying so, which the host passes on instead of hanging.
/// </summary>
public static class PowerShellDirectLauncher
{
    /// <summary>The launcher's exit code for "no PowerShell in the guest" (the shell's own code for a command not found).</summary>
    public const int NoPowerShell = 127;

    /// <summary>The agent's exit code for credentials the guest refused (HyperSharp.Integration.Protocol's ExecExitCodes, which the host does not reference).</summary>
    public const int CredentialsRefused = 77;

    // No profile, no banner, no telemetry or update check (the guest may have no network, and both would wait on it).
    private const string Script = """
        export PATH="/opt/hs-pwsh:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin:/opt/microsoft/powershell/7${PATH:+:$PATH}"
        export HOME="${HOME:-/root}" POWERSHELL_TELEMETRY_OPTOUT=1 POWERSHELL_UPDATECHECK=Off
        for p in hs-pwsh pwsh; do
          if command -v "$p" >/dev/null 2>&1; then exec "$p" -s -NoLogo -NoProfile; fi
        done
        echo "the guest has no PowerShell: neither hs-pwsh (HyperSharp's PowerShell disk, mounted at /opt/hs-pwsh) nor pwsh is installed" >&2
        exit 127
        """;

    /// <summary>The agent's command line for a session.</summary>
    public static readonly string[] Arguments = ["/bin/sh", "-c", Script.ReplaceLineEndings("\n")];
}
