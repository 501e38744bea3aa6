using HyperSharp.Integration.Protocol;

namespace HyperSharp.Guest.Services;

/// <summary>
/// Guest Service Interface (Copy-VMFile -FileSource Host): a file arrives in chunks into a temporary file beside its
/// destination, its SHA-256 is checked against the host's, then it is flushed and renamed into place — so a copy is
/// whole or absent. -CreateFullPath creates missing folders; without -Force an existing file is left alone.
/// </summary>
internal sealed class FileCopyService(FrameChannel channel)
{
    /// <summary>Copies in progress at once; a host opening more is refused.</summary>
    private const int MaxOpen = 16;
    private readonly Dictionary<uint, Copy> _copies = [];

    private sealed record Copy(CopyFileBeginMessage Request, IncomingFile File);

    public async Task HandleAsync(Frame frame, CancellationToken cancel)
    {
        switch (frame.Type)
        {
            case MessageType.CopyFileBegin:
                Begin(frame.RequestId, frame.Decode(ProtocolJson.Default.CopyFileBeginMessage));
                await channel.SendAsync(MessageType.Ok, frame.RequestId, cancel: cancel).ConfigureAwait(false);
                break;
            case MessageType.FileData:
            {
                // No reply per chunk (the stream's own credit paces the host); a failure is reported at the end.
                if (!_copies.TryGetValue(frame.RequestId, out var copy)) return;
                try
                {
                    if (!copy.File.Write(frame.Payload.Span)) Abort(frame.RequestId);
                }
                catch (IOException e)
                {
                    Linux.AgentLog.Info($"copy to {copy.Request.Path} failed: {e.Message}");
                    Abort(frame.RequestId); // the end message is then answered with an error
                }
                break;
            }
            default:
            {
                var end = frame.Decode(ProtocolJson.Default.CopyFileEndMessage);
                Finish(frame.RequestId, end.Sha256 ?? "");
                await channel.SendAsync(MessageType.Ok, frame.RequestId, cancel: cancel).ConfigureAwait(false);
                break;
            }
        }
    }

    private void Begin(uint id, CopyFileBeginMessage request)
    {
        string path = request.Path ?? "";
        if (!Path.IsPathFullyQualified(path) || path.EndsWith('/')) throw new ProtocolException($"destination '{path}' is not an absolute file path");
        if (request.Length < 0) throw new ProtocolException($"file length {request.Length}");
        if (_copies.ContainsKey(id) || _copies.Count >= MaxOpen) throw new ProtocolException($"copy {id} is open already, or {MaxOpen} copies are");
        string folder = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(folder))
        {
            if (!request.CreateFullPath) throw new ProtocolException($"the folder {folder} does not exist (use -CreateFullPath)");
            Directory.CreateDirectory(folder);
        }
        if (Directory.Exists(path)) throw new ProtocolException($"{path} is a folder");
        if (File.Exists(path) && !request.Overwrite) throw new ProtocolException($"{path} exists (use -Force to replace it)");
        string temp = Path.Combine(folder, $".{Path.GetFileName(path)}.hs-copy-{id}");
        _copies[id] = new Copy(request, IncomingFile.Create(temp, request.Length, (UnixFileMode)(request.Mode is > 0 and <= 0x1FF ? request.Mode : 0x1A4)));
    }

    private void Finish(uint id, string sha256)
    {
        if (!_copies.Remove(id, out var copy)) throw new ProtocolException($"no copy {id} is open (it failed: more data than announced?)");
        try
        {
            string actual = copy.File.Finish();
            if (!string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase)) throw new ProtocolException($"SHA-256 mismatch: the host sent {sha256}, the guest got {actual}");
            File.Move(copy.File.Temp, copy.Request.Path, overwrite: copy.Request.Overwrite);
            Linux.AgentLog.Info($"copied {copy.File.Received} bytes from the host to {copy.Request.Path} (SHA-256 {actual})");
        }
        catch (Exception e) when (e is ProtocolException or IOException or UnauthorizedAccessException)
        {
            copy.File.Dispose();
            throw e as ProtocolException ?? new ProtocolException($"cannot place {copy.Request.Path}: {e.Message}");
        }
    }

    private void Abort(uint id)
    {
        if (_copies.Remove(id, out var copy)) copy.File.Dispose();
    }

    public void AbortAll()
    {
        foreach (var id in _copies.Keys.ToArray()) Abort(id);
    }
}
