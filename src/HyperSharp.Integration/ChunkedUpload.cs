using System.Security.Cryptography;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Integration;

/// <summary>The bytes of a file sent to the agent as data frames of one request, without a reply each (the vsock stream's credit paces them).</summary>
internal static class ChunkedUpload
{
    /// <summary>Sends all of <paramref name="source"/>; returns how many bytes went and their SHA-256 (hex).</summary>
    public static async Task<(long Sent, string Sha256)> SendAsync(GuestAgent agent, uint id, Stream source, MessageType dataType, CancellationToken cancel)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[FrameChannel.DataChunk];
        long sent = 0;
        int n;
        while ((n = await source.ReadAsync(buffer, cancel).ConfigureAwait(false)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            await agent.Channel.SendAsync(dataType, id, buffer.AsMemory(0, n), cancel).ConfigureAwait(false);
            sent += n;
        }
        return (sent, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}
