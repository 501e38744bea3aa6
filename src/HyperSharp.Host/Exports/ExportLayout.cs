namespace HyperSharp.Host.Exports;

/// <summary>
/// The folder Export-VM writes and Import-VM reads, laid out as Hyper-V's: EXPORT/Virtual Machines/ID.json (the
/// configuration, every path in it relative to EXPORT) and ID.state (the saved state of a VM exported Saved),
/// EXPORT/Virtual Hard Disks/ (each drive's and checkpoint's image with its whole chain, parents found beside their
/// children) and EXPORT/Snapshots/ (each checkpoint's memory state, CHECKPOINT-ID.state). Boot files (kernel, initrd)
/// are the host's, as a DVD's ISO is in Hyper-V: they are named, not copied.
/// </summary>
internal static class ExportLayout
{
    public const string MachinesFolder = "Virtual Machines", DisksFolder = "Virtual Hard Disks", SnapshotsFolder = "Snapshots";

    public static string ConfigurationFile(Guid id) => Path.Combine(MachinesFolder, $"{id:D}.json");

    public static string SavedStateFile(Guid id) => Path.Combine(MachinesFolder, $"{id:D}.state");

    public static string CheckpointStateFile(Guid checkpointId) => Path.Combine(SnapshotsFolder, $"{checkpointId:D}.state");

    /// <summary>
    /// The export folder a configuration file belongs to (the parent of its "Virtual Machines" folder); an error naming
    /// the file when it does not sit in one.
    /// </summary>
    public static string RootOf(string configurationFile)
    {
        string folder = Path.GetDirectoryName(configurationFile)!;
        if (!string.Equals(Path.GetFileName(folder), MachinesFolder, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"{configurationFile}: an exported configuration sits in a folder named '{MachinesFolder}' of its export, not in {folder}");
        return Path.GetDirectoryName(folder)!;
    }

    /// <summary>
    /// A path written in an export, made absolute inside <paramref name="root"/>: one that is absolute or climbs out
    /// (../) is refused, naming <paramref name="file"/> and the path, so a hostile export can never make the host read or
    /// write elsewhere.
    /// </summary>
    public static string Inside(string root, string relative, string file)
    {
        if (string.IsNullOrEmpty(relative)) throw new InvalidDataException($"{file}: an empty path where a file of the export is expected");
        if (Path.IsPathRooted(relative) || relative.Contains('\\'))
            throw new InvalidDataException($"{file}: '{relative}' is not a path relative to the export folder");
        string full = Path.GetFullPath(Path.Combine(root, relative));
        if (!IsUnder(root, full)) throw new InvalidDataException($"{file}: '{relative}' leaves the export folder {root}");
        return full;
    }

    public static bool IsUnder(string root, string path)
    {
        string prefix = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)) + Path.DirectorySeparatorChar;
        return Path.GetFullPath(path).StartsWith(prefix, StringComparison.Ordinal);
    }
}
