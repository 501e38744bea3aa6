using HyperSharp.Integration.Protocol;

namespace HyperSharp.Integration;

/// <summary>
/// Copy-VMFile -FileSource Host: the file goes to the agent in chunks with its SHA-256, which the agent checks before
/// it renames the copy into place. <c>createFullPath</c> makes missing folders; without <c>force</c> an existing
/// file in the guest is an error. Chunks need no reply each: the vsock stream's credit paces them.
/// </summary>
internal static class FileCopy
{
    public static async Task RunAsync(GuestAgent agent, string sourcePath, string destinationPath, bool createFullPath, bool force, CancellationToken cancel)
    {
        if (!destinationPath.StartsWith('/')) throw new ArgumentException($"-DestinationPath '{destinationPath}' must be an absolute path in the guest");
        await using var source = new FileStream(sourcePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        int mode = OperatingSystem.IsWindows() ? 0x1A4 : (int)File.GetUnixFileMode(sourcePath) & 0x1FF;
        uint id = agent.NextId();
        var begin = new CopyFileBeginMessage(destinationPath, source.Length, createFullPath, force, mode);
        await agent.RequestAsync(i => agent.Channel.SendAsync(MessageType.CopyFileBegin, i, begin, ProtocolJson.Default.CopyFileBeginMessage, cancel), id, null, cancel)
            .ConfigureAwait(false);
        var (sent, sha256) = await ChunkedUpload.SendAsync(agent, id, source, MessageType.FileData, cancel).ConfigureAwait(false);
        if (sent != begin.Length) throw new IOException($"{sourcePath} changed size while it was copied ({begin.Length} then {sent} bytes)");
        var end = new CopyFileEndMessage(sha256);
        await agent.RequestAsync(i => agent.Channel.SendAsync(MessageType.CopyFileEnd, i, end, ProtocolJson.Default.CopyFileEndMessage, cancel), id, TimeSpan.FromMinutes(5), cancel)
            .ConfigureAwait(false);
    }
}
