using System.Security.Cryptography;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Integration;

/// <summary>
/// A newer guest agent the host carries for its guests: a folder with the executable (hs-agent), its version
/// (hs-agent.version) and the publisher's signature on both (hs-agent.sig, DER), as eng/guest/build-agent.sh writes
/// them. The host does not check the signature — the agent does, with the key built into it — but it refuses a folder
/// that is incomplete, so a bad package is found when the host starts rather than in every guest.
/// </summary>
public sealed record AgentUpdatePackage(string ExecutablePath, string Version, string Sha256, byte[] Signature, long Length)
{
    public const string ExecutableName = "hs-agent", VersionName = "hs-agent.version", SignatureName = "hs-agent.sig";

    public static AgentUpdatePackage Load(string folder)
    {
        string executable = Path.Combine(folder, ExecutableName), versionFile = Path.Combine(folder, VersionName), signatureFile = Path.Combine(folder, SignatureName);
        foreach (var file in new[] { executable, versionFile, signatureFile })
            if (!File.Exists(file)) throw new FileNotFoundException($"agent update folder {folder}: {Path.GetFileName(file)} is missing (expected {ExecutableName}, {VersionName} and {SignatureName})", file);
        string version = File.ReadAllText(versionFile).Trim();
        if (!System.Version.TryParse(version, out _)) throw new InvalidDataException($"{versionFile}: '{version}' is not a version (MAJOR.MINOR[.BUILD])");
        byte[] signature = File.ReadAllBytes(signatureFile);
        if (signature.Length is < 8 or > 80) throw new InvalidDataException($"{signatureFile}: {signature.Length} bytes is not a DER P-256 signature");
        using var stream = File.OpenRead(executable);
        string sha256 = Convert.ToHexStringLower(SHA256.HashData(stream));
        return new AgentUpdatePackage(executable, version, sha256, signature, stream.Length);
    }

    /// <summary>Whether an agent whose Hello said <paramref name="software"/> ("hs-agent VERSION") is older than this package.</summary>
    public bool IsNewerThan(string software) =>
        AgentUpdateStatement.IsNewer(Version, AgentVersionOf(software) ?? "0.0");

    /// <summary>The version in an agent's software string, or null.</summary>
    public static string? AgentVersionOf(string software)
    {
        var parts = software.Split(' ', 2);
        return parts.Length == 2 && parts[0] == "hs-agent" && System.Version.TryParse(parts[1], out _) ? parts[1] : null;
    }
}
