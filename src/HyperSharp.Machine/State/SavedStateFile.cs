using HyperSharp.Hypervisor;
using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.State;

/// <summary>
/// An open saved state: its records (read and checked when it was opened), its memory still to be read, and the
/// refusals that name this file — which build wrote it, which record is at fault and where it starts.
/// </summary>
public sealed class SavedStateFile : IDisposable
{
    private readonly Stream _file;
    private readonly Action<GuestMemory> _readMemory;
    private readonly IReadOnlyDictionary<string, long> _offsets;

    internal SavedStateFile(string path, Stream file, string writer, uint format, VmSavedState state, Action<GuestMemory> readMemory,
        IReadOnlyDictionary<string, long> offsets)
    {
        Path = path;
        _file = file;
        Writer = writer;
        Format = format;
        State = state;
        _readMemory = readMemory;
        _offsets = offsets;
    }

    public string Path { get; }

    /// <summary>The HyperSharp build that wrote the file.</summary>
    public string Writer { get; }

    /// <summary>The file's format (1: JSON header, unchecked memory; 2: checksummed records).</summary>
    public uint Format { get; }

    public VmSavedState State { get; }

    /// <summary>Reads guest memory into <paramref name="memory"/> (which starts zeroed); a damaged chunk is refused.</summary>
    public void ReadMemory(GuestMemory memory) => _readMemory(memory);

    /// <summary>
    /// Runs <paramref name="apply"/>, which decodes and applies records; a record it cannot read (damaged, or newer
    /// than this build) becomes a <see cref="SavedStateException"/> naming this file, the record and its offset.
    /// </summary>
    public void Apply(Action apply)
    {
        try { apply(); }
        catch (StateVersionException e)
        {
            throw Refuse(e.Record, $"saved by HyperSharp {Writer} (record {e.Record} version {e.Version}); this is HyperSharp {StateFileFormat.ThisBuild}, which reads up to {e.Supported}", e);
        }
        catch (StateRecordException e) { throw Refuse(e.Record, $"cannot be read: {e.Problem}", e); }
        catch (HypervisorException e) { throw Refuse(null, $"the backend cannot apply it: {e.Message}", e); }
    }

    /// <summary>A refusal naming this file and, when given, the record and where it starts.</summary>
    public SavedStateException Refuse(string? record, string problem, Exception? inner = null)
    {
        if (record is null) return new SavedStateException(Path, problem, inner);
        // A nested name ("processor 0 local APIC", "device com1 section X") belongs to the record it starts with.
        foreach (var (name, offset) in _offsets)
            if (record == name || record.StartsWith(name + " ", StringComparison.Ordinal))
                return new SavedStateException(Path, record, offset, problem, inner);
        return new SavedStateException(Path, $"{record}: {problem}", inner);
    }

    public void Dispose() => _file.Dispose();
}
