namespace HyperSharp.Vhdx.Operations;

/// <summary>
/// A file built under a temporary name next to its final path and renamed into place only when
/// complete, so a failed or interrupted operation leaves no half-made image behind.
/// </summary>
internal sealed class StagedFile : IDisposable
{
    private bool _committed;

    public StagedFile(string finalPath, bool overwrite)
    {
        FinalPath = Path.GetFullPath(finalPath);
        if (!overwrite && File.Exists(FinalPath))
            throw new VirtualDiskException($"{FinalPath}: the file already exists (choose another name or allow overwriting)");
        string dir = Path.GetDirectoryName(FinalPath)!;
        if (!Directory.Exists(dir)) throw new VirtualDiskException($"{dir}: no such directory");
        // Same directory: the rename stays on one file system, so it is atomic.
        TempPath = Path.Combine(dir, $".{Path.GetFileName(FinalPath)}.{Guid.NewGuid():N}.partial");
    }

    public string FinalPath { get; }

    public string TempPath { get; }

    /// <summary>Renames the finished file into place (the file must be closed).</summary>
    public void Commit()
    {
        File.Move(TempPath, FinalPath, overwrite: true);
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed) return;
        try { File.Delete(TempPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
