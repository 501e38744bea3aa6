using System.Text;

namespace HyperSharp.Integration.Protocol;

/// <summary>
/// What the publisher of the guest agent signs for an update: the agent's version and the SHA-256 of its executable, in
/// one fixed text. Signing the version with the bytes means a host cannot offer an old signed agent as a newer one; the
/// agent rebuilds this text from what it was offered and what it received, and verifies the signature on it.
/// </summary>
public static class AgentUpdateStatement
{
    public static byte[] For(string version, string sha256Hex) =>
        Encoding.ASCII.GetBytes($"hs-agent update\nversion {version}\nsha256 {sha256Hex.ToLowerInvariant()}\n");

    /// <summary>Whether <paramref name="offered"/> is a later agent version than <paramref name="current"/> (both "MAJOR.MINOR[.BUILD[.REVISION]]"); false for anything unparsable.</summary>
    public static bool IsNewer(string offered, string current) =>
        Version.TryParse(offered, out var o) && Version.TryParse(current, out var c) && o > c;
}
