using System.Buffers.Binary;
using HyperSharp.Hypervisor;
using static HyperSharp.Machine.State.StateFileFormat;

namespace HyperSharp.Machine.State;

/// <summary>
/// The saved-state file: writing it (format 2, <see cref="StateFileFormat"/>), and opening one of any format this
/// build reads. Written to a temporary name, flushed, then renamed, so a crash never leaves half a state file;
/// readable by its owner only, since it holds the guest's memory.
/// </summary>
public static class VmStateFile
{
    public static void Write(string path, VmSavedState state, GuestMemory memory)
    {
        string temp = path + ".partial";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 20 };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(temp, options))
        {
            new StateFileWriter(file).Write(state, memory);
            file.Flush(true);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>
    /// Opens a saved state and reads everything but its memory. A missing file, a directory, a damaged or truncated
    /// file, or one of a newer format is a <see cref="SavedStateException"/> naming the file (and the record).
    /// </summary>
    public static SavedStateFile Open(string path)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new SavedStateException(full, "is a directory, not a saved-state file");
        FileStream file;
        try { file = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20); }
        catch (FileNotFoundException e) { throw new SavedStateException(full, "the saved state is missing (no such file)", e); }
        catch (DirectoryNotFoundException e) { throw new SavedStateException(full, "the saved state is missing (no such folder)", e); }
        catch (UnauthorizedAccessException e) { throw new SavedStateException(full, $"the saved state cannot be read: {e.Message}", e); }
        try { return Open(file, full); }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Reads a saved state of any format from <paramref name="file"/> (which the result then owns); errors name it <paramref name="name"/>.</summary>
    internal static SavedStateFile Open(Stream file, string name)
    {
        Span<byte> start = stackalloc byte[12];
        StateFileReader.ReadExactly(file, name, start, "the file header");
        if (!start[..8].SequenceEqual(Magic)) throw new SavedStateException(name, "not a HyperSharp saved-state file (no \"HSVMSAVE\" magic)");
        uint format = BinaryPrimitives.ReadUInt32LittleEndian(start[8..]);
        if (format == LegacyFormat)
        {
            var legacy = LegacyStateFile.ReadHeader(file, name);
            return new SavedStateFile(name, file, "a build before saved-state format 2", format, legacy,
                memory => LegacyStateFile.ReadMemory(file, memory, name), new Dictionary<string, long>());
        }
        if (format == 0) throw new SavedStateException(name, "file header", 8, "format 0 does not exist (damaged)");
        var (reader, state) = StateFileReader.Open(file, name, format);
        return new SavedStateFile(name, file, reader.Writer, format, state, reader.ReadMemory, reader.Offsets);
    }

    /// <summary>The backend and configuration a saved state was written with (what rebuilding it needs first).</summary>
    public static (string Backend, SavedVmConfig Config) ReadConfig(string path)
    {
        using var file = Open(path);
        return (file.State.Backend, file.State.Config);
    }
}
