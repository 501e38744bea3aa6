namespace HyperSharp.Vhdx;

/// <summary>
/// A problem with an image or a request on it. The message names the structure and the file
/// offset where the problem was found, so a user can act on it.
/// </summary>
public class VirtualDiskException : Exception
{
    public VirtualDiskException(string message) : base(message) { }
    public VirtualDiskException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The image's on-disk structures are invalid (corrupt, truncated, hostile).</summary>
public class CorruptImageException : VirtualDiskException
{
    public CorruptImageException(string path, string structure, long fileOffset, string problem)
        : base($"{path}: {structure} at file offset 0x{fileOffset:X}: {problem}")
    {
        Structure = structure;
        FileOffset = fileOffset;
    }

    /// <summary>Name of the structure that failed validation (e.g. "header 1", "BAT entry 17").</summary>
    public string Structure { get; }

    /// <summary>File offset of the structure or field that failed.</summary>
    public long FileOffset { get; }
}
