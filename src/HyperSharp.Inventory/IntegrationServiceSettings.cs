namespace HyperSharp.Inventory;

/// <summary>
/// Which integration services a VM offers its guest (Get-VMIntegrationService), by Hyper-V's names and with its
/// defaults: every service on but Guest Service Interface, which an administrator turns on to copy files in. Kept in
/// vm.json from version 4; an older file reads with these defaults.
/// </summary>
public sealed record IntegrationServiceSettings
{
    public const string HeartbeatName = "Heartbeat", ShutdownName = "Shutdown", TimeSynchronizationName = "Time Synchronization",
        KeyValuePairExchangeName = "Key-Value Pair Exchange", VssName = "VSS", GuestServiceInterfaceName = "Guest Service Interface";

    /// <summary>Every service's name, in the order Hyper-V lists them.</summary>
    public static readonly IReadOnlyList<string> Names =
        [GuestServiceInterfaceName, HeartbeatName, KeyValuePairExchangeName, ShutdownName, TimeSynchronizationName, VssName];

    public bool Heartbeat { get; init; } = true;
    public bool Shutdown { get; init; } = true;
    public bool TimeSynchronization { get; init; } = true;
    public bool KeyValuePairExchange { get; init; } = true;
    public bool Vss { get; init; } = true;
    public bool GuestServiceInterface { get; init; }

    /// <summary>Whether the service <paramref name="name"/> (one of <see cref="Names"/>) is on.</summary>
    public bool IsEnabled(string name) => name switch
    {
        HeartbeatName => Heartbeat,
        ShutdownName => Shutdown,
        TimeSynchronizationName => TimeSynchronization,
        KeyValuePairExchangeName => KeyValuePairExchange,
        VssName => Vss,
        GuestServiceInterfaceName => GuestServiceInterface,
        _ => throw new ArgumentException($"'{name}' is not an integration service; the services are: {string.Join(", ", Names)}"),
    };

    /// <summary>These settings with the service <paramref name="name"/> (one of <see cref="Names"/>) turned on or off.</summary>
    public IntegrationServiceSettings With(string name, bool enabled) => name switch
    {
        HeartbeatName => this with { Heartbeat = enabled },
        ShutdownName => this with { Shutdown = enabled },
        TimeSynchronizationName => this with { TimeSynchronization = enabled },
        KeyValuePairExchangeName => this with { KeyValuePairExchange = enabled },
        VssName => this with { Vss = enabled },
        GuestServiceInterfaceName => this with { GuestServiceInterface = enabled },
        _ => throw new ArgumentException($"'{name}' is not an integration service; the services are: {string.Join(", ", Names)}"),
    };
}
