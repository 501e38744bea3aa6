using HyperSharp.Inventory.Platform;

namespace HyperSharp.Host.Checkpoints;

/// <summary>
/// A second copy of a saved-state file (a checkpoint of a Saved VM, a restore, an export): a hard link where the file
/// system allows it, else a full copy. Linking is safe because a state file is never changed in place: the worker
/// writes a new one beside it and renames it over, and removing one name leaves the other whole.
/// </summary>
internal static class StateFileCopy
{
    /// <summary>Makes <paramref name="target"/> (which must not exist) hold what <paramref name="source"/> holds.</summary>
    public static void Make(string source, string target)
    {
        if (!File.Exists(source)) throw new FileNotFoundException($"the saved state {source} does not exist", source);
        if (Posix.TryHardLink(source, target)) return;
        File.Copy(source, target, overwrite: false);
    }
}
