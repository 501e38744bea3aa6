namespace HyperSharp.Machine.State;

/// <summary>
/// A saved state that cannot be restored — missing, not a file, damaged, truncated, or written by a newer
/// HyperSharp — named with its file and, where one is at fault, the record and its file offset. Restoring never
/// falls back to a cold boot: whoever holds the VM keeps it Saved and shows this message.
/// </summary>
public sealed class SavedStateException : IOException
{
    public SavedStateException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        Path = path;
    }

    public SavedStateException(string path, string record, long fileOffset, string problem, Exception? inner = null)
        : base($"{path}: {record} at file offset 0x{fileOffset:X}: {problem}", inner)
    {
        Path = path;
        Record = record;
        FileOffset = fileOffset;
    }

    /// <summary>The saved-state file.</summary>
    public string Path { get; }

    /// <summary>The record at fault ("device com1", "memory chunk at guest address 0x100000"), if one is.</summary>
    public string? Record { get; }

    /// <summary>Where that record starts in the file.</summary>
    public long? FileOffset { get; }
}
