namespace HyperSharp.Host;

/// <summary>Where the host service keeps its inventory and where it listens.</summary>
public sealed record HostServerOptions
{
    /// <summary>The inventory root: one folder per VM (default /var/lib/hypersharp).</summary>
    public required string InventoryRoot { get; init; }

    /// <summary>The Unix socket the API is served on.</summary>
    public required string SocketPath { get; init; }
}
