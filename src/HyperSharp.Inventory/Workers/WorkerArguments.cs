namespace HyperSharp.Inventory.Workers;

/// <summary>
/// The command line of a worker: `... worker --vm-dir FOLDER`. The host finds its workers again
/// after a restart by this shape in /proc/PID/cmdline, so launching and recognising live side by side.
/// </summary>
public static class WorkerArguments
{
    public const string Verb = "worker";
    public const string FolderOption = "--vm-dir";

    /// <summary>Asks the worker to restore the VM's saved state rather than boot it: the host says so from the state it recorded
    /// (Saved), so a saved state that went missing is an error that names the file, never a silent cold boot.</summary>
    public const string RestoreOption = "--restore";

    /// <summary>The Unix socket the launching host listens on: the worker connects there first and reports on that connection.</summary>
    public const string ReportOption = "--report-to";

    /// <summary>Take the VM by live migration instead of booting it: listen for the source worker (TLS) on this address.</summary>
    public const string MigrateListenOption = "--migrate-listen";

    /// <summary>The trust files (ca.crt, host.crt, host.key) for the migration listener.</summary>
    public const string TlsDirectoryOption = "--tls-dir";

    public static IEnumerable<string> For(string vmFolder, bool restore, string? reportTo = null, IncomingMigration? incoming = null)
    {
        string[] shape = restore ? [Verb, FolderOption, vmFolder, RestoreOption] : [Verb, FolderOption, vmFolder];
        if (incoming is not null) shape = [.. shape, MigrateListenOption, incoming.ListenAddress, TlsDirectoryOption, incoming.TlsDirectory];
        return reportTo is null ? shape : [.. shape, ReportOption, reportTo];
    }

    /// <summary>The VM folder a worker's argv names, or null if the argv is not a worker's.</summary>
    public static string? FolderOf(string[] argv)
    {
        for (int i = 0; i + 2 < argv.Length; i++)
            if (argv[i] == Verb && argv[i + 1] == FolderOption) return argv[i + 2];
        return null;
    }

    public static bool Matches(string[] argv, string vmFolder) => FolderOf(argv) == vmFolder;
}

/// <summary>A worker launched to take its VM by live migration: the address it listens on for the source worker, and the trust files of the TLS it speaks there.</summary>
public sealed record IncomingMigration(string ListenAddress, string TlsDirectory);
