using HyperSharp.Inventory.Platform;

namespace HyperSharp.Inventory;

/// <summary>
/// Replaces a file so that a crash at any instant leaves the old or the new content, never a mix:
/// write a temporary file beside it, flush it to the disk, rename it over the target, flush the directory.
/// The file is private from its first byte (<see cref="InventoryPermissions.FileMode"/>).
/// </summary>
public static class AtomicFile
{
    public const string TemporarySuffix = ".tmp";

    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        string temporary = path + TemporarySuffix;
        var mode = InventoryPermissions.Current.FileMode;
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (OperatingSystem.IsLinux()) options.UnixCreateMode = mode;
        using (var file = new FileStream(temporary, options))
        {
            if (OperatingSystem.IsLinux()) File.SetUnixFileMode(file.SafeFileHandle, mode); // a temporary file left by a crash keeps its old mode otherwise
            file.Write(content);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        Posix.FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }
}
