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

    public static IEnumerable<string> For(string vmFolder, bool restore, string? reportTo = null)
    {
        string[] shape = restore ? [Verb, FolderOption, vmFolder, RestoreOption] : [Verb, FolderOption, vmFolder];
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
