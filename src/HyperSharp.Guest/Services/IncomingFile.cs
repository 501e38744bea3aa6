using HyperSharp.Integration.Protocol;

namespace HyperSharp.Guest.Services;

/// <summary>
/// A file the host sends in data frames, written to a temporary file beside its destination and hashed as it comes:
/// whoever receives it checks the length and SHA-256 at the end before putting it in place, so a file is whole or
/// absent. Used by file copy and agent updates.
/// </summary>
internal sealed class IncomingFile : IDisposable
{
    private readonly FileStream _file;
    private readonly Sha256Stream _hash = new();

    private IncomingFile(string temp, long expected, FileStream file) => (Temp, Expected, _file) = (temp, expected, file);

    public string Temp { get; }
    public long Expected { get; }
    public long Received { get; private set; }

    /// <summary>Creates <paramref name="temp"/> with <paramref name="mode"/>; a failure is a <see cref="ProtocolException"/> naming it.</summary>
    public static IncomingFile Create(string temp, long expected, UnixFileMode mode)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = mode };
        try { return new IncomingFile(temp, expected, new FileStream(temp, options)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ProtocolException($"cannot create {temp}: {e.Message}"); }
    }

    /// <summary>Writes a chunk; false when it would go past the announced length (nothing written).</summary>
    public bool Write(ReadOnlySpan<byte> chunk)
    {
        if (Received + chunk.Length > Expected) return false;
        _file.Write(chunk);
        _hash.Append(chunk);
        Received += chunk.Length;
        return true;
    }

    /// <summary>Flushes to disk and closes; returns the SHA-256 (hex) of what came, or throws when it is not the announced length.</summary>
    public string Finish()
    {
        _file.Flush(flushToDisk: true);
        _file.Dispose();
        if (Received != Expected) throw new ProtocolException($"received {Received} of {Expected} bytes");
        return _hash.FinishHex();
    }

    /// <summary>Closes and removes the temporary file (a failed or abandoned transfer).</summary>
    public void Dispose()
    {
        _file.Dispose();
        try { File.Delete(Temp); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
