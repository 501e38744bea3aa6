using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;

namespace HyperSharp.Host.Access;

/// <summary>Who sent a request, as far as the files it names are concerned (see <see cref="PathAccess"/>).</summary>
public abstract record ClientIdentity
{
    /// <summary>Root on this machine, or the host itself: any path, as an administrator at the console.</summary>
    public static ClientIdentity Root { get; } = new RootUser();

    /// <summary>What error messages call the client.</summary>
    public abstract string Description { get; }

    private sealed record RootUser : ClientIdentity
    {
        public override string Description => "root";
    }
}

/// <summary>A local user on the Unix socket, as the kernel recorded them when they connected.</summary>
public sealed record LocalUser(PeerCredentials Credentials) : ClientIdentity
{
    public override string Description => $"uid {Credentials.Uid}";
}

/// <summary>A remote administrator over mutual TLS (the subject of their certificate): no local identity to check with.</summary>
public sealed record RemoteAdministrator(string Subject) : ClientIdentity
{
    public override string Description => $"remote client {Subject}";
}
