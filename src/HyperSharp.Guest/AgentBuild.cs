using System.Reflection;

namespace HyperSharp.Guest;

/// <summary>
/// Who this agent is: its version (the build stamps it: eng/guest/build-agent.sh passes -p:Version) and the public key
/// of the publisher whose signature an update must carry (-p:AgentPublisherKey, an uncompressed P-256 point in base64;
/// empty in a build without one, which then refuses every update), and the activation key's public half (-p:AgentActivationKey).
/// </summary>
public static class AgentBuild
{
    public static string Version { get; } = ReadVersion();

    public static byte[] PublisherKey { get; } = ReadKey("AgentPublisherKey");

    /// <summary>The public half of the activation key a host's activation token must be signed with (-p:AgentActivationKey); empty: never activated.</summary>
    public static byte[] ActivationKey { get; } = ReadKey("AgentActivationKey");

    private static string ReadVersion()
    {
        string? informational = typeof(AgentBuild).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        string version = informational?.Split('+')[0] ?? "0.0.0";
        return System.Version.TryParse(version, out _) ? version : "0.0.0";
    }

    private static byte[] ReadKey(string name)
    {
        foreach (var meta in typeof(AgentBuild).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>())
            if (meta.Key == name && !string.IsNullOrEmpty(meta.Value))
                try { return Convert.FromBase64String(meta.Value); } catch (FormatException) { return []; }
        return [];
    }
}
