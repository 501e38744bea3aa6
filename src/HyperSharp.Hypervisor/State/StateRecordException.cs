namespace HyperSharp.Hypervisor.State;

/// <summary>
/// A saved record this build cannot read: damaged (a field out of bounds, bytes left over) or, as
/// <see cref="StateVersionException"/>, newer than its reader. The saved-state container adds the file and
/// the record's offset in it.
/// </summary>
public class StateRecordException : Exception
{
    public StateRecordException(string record, int offset, string problem)
        : base($"{record}: at byte {offset} of the record: {problem}")
    {
        Record = record;
        Offset = offset;
        Problem = problem;
    }

    protected StateRecordException(string record, string message) : base(message)
    {
        Record = record;
        Problem = message;
    }

    /// <summary>The record ("device com1", "processor 0", "platform").</summary>
    public string Record { get; }

    /// <summary>Byte offset in the record's payload where reading failed (0 when the record as a whole is refused).</summary>
    public int Offset { get; }

    /// <summary>What is wrong, without the record's name.</summary>
    public string Problem { get; }
}

/// <summary>A record written by a newer build, in a version this build does not read.</summary>
public sealed class StateVersionException(string record, int version, int supported)
    : StateRecordException(record, $"{record}: version {version} is newer than this build reads (up to {supported})")
{
    /// <summary>The version the record carries.</summary>
    public int Version { get; } = version;

    /// <summary>The newest version this build reads.</summary>
    public int Supported { get; } = supported;
}
