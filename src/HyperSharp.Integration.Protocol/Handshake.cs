namespace HyperSharp.Integration.Protocol;

/// <summary>
/// The opening exchange: both sides send Hello at once (versions spoken, software, services) and read the other's;
/// each picks the newest common version, so both arrive at the same one without a further round trip.
/// </summary>
public static class Handshake
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <returns>the version in use and the peer's Hello</returns>
    public static async Task<(int Version, HelloMessage Peer)> RunAsync(FrameChannel channel, HelloMessage ours, CancellationToken cancel = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(Timeout);
        await channel.SendAsync(MessageType.Hello, 0, ours, ProtocolJson.Default.HelloMessage, timeout.Token).ConfigureAwait(false);
        var frame = await channel.ReadAsync(timeout.Token).ConfigureAwait(false) ?? throw new ProtocolException("the peer closed the connection before its Hello");
        if (frame.Type == MessageType.Error) throw new ProtocolException("the peer refused: " + frame.Decode(ProtocolJson.Default.ErrorMessage).Message);
        if (frame.Type != MessageType.Hello) throw new ProtocolException($"expected Hello, got {frame.Type}");
        var peer = frame.Decode(ProtocolJson.Default.HelloMessage);
        if (peer.Versions is null || peer.Versions.Length is 0 or > 64) throw new ProtocolException("the peer's Hello lists no versions (or too many)");
        if (ProtocolVersions.Negotiate(ours.Versions, peer.Versions) is not int version)
        {
            string why = $"no protocol version in common: we speak {string.Join(",", ours.Versions)}, the peer {string.Join(",", peer.Versions)}";
            try { await channel.SendErrorAsync(0, why, timeout.Token).ConfigureAwait(false); } catch (IOException) { }
            throw new ProtocolException(why);
        }
        return (version, peer);
    }
}
