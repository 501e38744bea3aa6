using Microsoft.Win32.SafeHandles;

namespace HyperSharp.Vhdx.Vhdx;

/// <summary>
/// The image file under a VHDX: positional (thread-safe) reads and writes, durability, and — for a
/// read-only open of an image with a pending log — an in-memory overlay of the replayed metadata
/// sectors, so metadata reads see the replayed state while the file is never written.
/// </summary>
internal sealed class VhdxStorage : IDisposable
{
    private readonly Dictionary<long, byte[]> _overlay = new();

    public VhdxStorage(string path, SafeFileHandle handle, bool readOnly)
    {
        Path = path;
        Handle = handle;
        ReadOnly = readOnly;
    }

    public string Path { get; }
    public SafeFileHandle Handle { get; }
    public bool ReadOnly { get; }

    public long Length => RandomAccess.GetLength(Handle);

    public bool HasOverlay => _overlay.Count > 0;

    /// <summary>Reads file bytes; bytes past the end of the file read as zeros (the caller checks bounds that matter).</summary>
    public void ReadData(long offset, Span<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            int n = RandomAccess.Read(Handle, buffer, offset);
            if (n <= 0) { buffer.Clear(); return; }
            buffer = buffer[n..];
            offset += n;
        }
    }

    /// <summary>Reads metadata (region table, metadata region, BAT, sector bitmaps), with any replay overlay applied.</summary>
    public void ReadMetadata(long offset, Span<byte> buffer)
    {
        ReadData(offset, buffer);
        if (_overlay.Count == 0) return;
        long first = offset / VhdxFormat.LogSectorSize * VhdxFormat.LogSectorSize;
        for (long page = first; page < offset + buffer.Length; page += VhdxFormat.LogSectorSize)
        {
            if (!_overlay.TryGetValue(page, out var data)) continue;
            long from = Math.Max(page, offset), to = Math.Min(page + VhdxFormat.LogSectorSize, offset + buffer.Length);
            data.AsSpan((int)(from - page), (int)(to - from)).CopyTo(buffer[(int)(from - offset)..]);
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (ReadOnly) throw new InvalidOperationException($"{Path}: internal error: write to a read-only image");
        RandomAccess.Write(Handle, data, offset);
    }

    public void Flush() => RandomAccess.FlushToDisk(Handle);

    public void SetLength(long length) => RandomAccess.SetLength(Handle, length);

    /// <summary>Applies log writes to the overlay (read-only replay) instead of the file.</summary>
    public void ApplyToOverlay(IEnumerable<LogWrite> writes)
    {
        foreach (var w in writes)
        {
            if (w.Data is not null) { _overlay[w.FileOffset] = w.Data; continue; }
            for (long p = w.FileOffset; p < w.FileOffset + w.ZeroLength; p += VhdxFormat.LogSectorSize)
                _overlay[p] = new byte[VhdxFormat.LogSectorSize];
        }
    }

    public void Dispose() => Handle.Dispose();
}
