namespace HyperSharp.Host.Migration;

/// <summary>How a migration's connections prove who is at each end: mutual TLS with the certificates of `hyper host certs` (Hyper-V's CredSSP and Kerberos have no place on Linux hosts).</summary>
public enum MigrationAuthentication { MutualTls }

/// <summary>How the migration stream travels: as it is over TCP, or compressed (fewer bytes on the link for more processor time).</summary>
public enum MigrationPerformance { TcpIp, Compression }

/// <summary>
/// The host's live-migration settings (Enable-/Disable-VMMigration, Set-VMHost): whether this host sends and takes VMs at
/// all, how migrations authenticate and travel, and how many run at once (more wait their turn).
/// </summary>
public sealed record MigrationSettings
{
    /// <summary>The most live migrations Set-VMHost accepts at once (Hyper-V's limit is far higher; two cores do not gain from more).</summary>
    public const int MaximumMigrationsLimit = 64;

    /// <summary>Off until an administrator enables it, as on Hyper-V: a host does not take VMs from its peers unasked.</summary>
    public bool Enabled { get; init; }
    public MigrationAuthentication Authentication { get; init; } = MigrationAuthentication.MutualTls;
    public MigrationPerformance Performance { get; init; } = MigrationPerformance.Compression;
    public int MaximumMigrations { get; init; } = 2;

    /// <summary>
    /// Whether migrations may use any of the host's networks. This host has no list of migration networks
    /// (Add-VMMigrationNetwork) yet, so either way the stream goes to the address the destination host serves its API on.
    /// </summary>
    public bool UseAnyNetwork { get; init; } = true;
}

/// <summary>A Set-VMHost / Enable-VMMigration request: each setting given or not (null).</summary>
public sealed record MigrationSettingsChange
{
    public bool? Enabled { get; init; }
    public MigrationAuthentication? Authentication { get; init; }
    public MigrationPerformance? Performance { get; init; }
    public int? MaximumMigrations { get; init; }
    public bool? UseAnyNetwork { get; init; }

    /// <summary>The settings with this change applied; a value out of range is refused naming its parameter.</summary>
    public MigrationSettings ApplyTo(MigrationSettings current)
    {
        if (MaximumMigrations is < 1 or > MigrationSettings.MaximumMigrationsLimit)
            throw Service.HostErrors.Invalid("maximum_virtual_machine_migrations", $"{MaximumMigrations} is out of range: give 1 to {MigrationSettings.MaximumMigrationsLimit} simultaneous live migrations");
        return current with
        {
            Enabled = Enabled ?? current.Enabled,
            Authentication = Authentication ?? current.Authentication,
            Performance = Performance ?? current.Performance,
            MaximumMigrations = MaximumMigrations ?? current.MaximumMigrations,
            UseAnyNetwork = UseAnyNetwork ?? current.UseAnyNetwork,
        };
    }
}
