using HyperSharp.Host.Platform;

namespace HyperSharp.Host.Inventory;

/// <summary>
/// Replaces a file so that a crash at any instant leaves the old or the new content, never a mix:
/// write a temporary file beside it, flush it to the disk, rename it over the target, flush the directory.
/// </summary>
public static class AtomicFile
{
    public const string TemporarySuffix = ".tmp";

    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        string temporary = path + TemporarySuffix;
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(content);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        Posix.FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }
}
