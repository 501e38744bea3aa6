using HyperSharp.Integration.Protocol;

namespace HyperSharp.Guest.Services;

/// <summary>
/// Agent updates (protocol 3): the host offers a newer agent; it arrives into a temporary file beside this agent's own
/// executable; its SHA-256 must match the offer, and the publisher's signature on the version and that hash must verify
/// with the key built into this agent. Only then is the file renamed over the running executable (atomic: the guest has
/// the old agent or the new one, never half of either), the host told, and the agent restarted in place as the new one.
/// An offer that is not newer, not signed by the publisher, too large or cut short changes nothing.
/// </summary>
internal sealed class UpdateService(FrameChannel channel, IGuestSystem system, byte[] publisherKey, string currentVersion)
{
    /// <summary>A larger file is refused before a byte is written (the agent is ~5 MiB).</summary>
    public const long MaxLength = 64L << 20;
    private Pending? _pending;

    private sealed record Pending(uint Id, UpdateOfferMessage Offer, IncomingFile File);

    /// <summary>Set once an update is in place: the session ends and the agent restarts as the new executable.</summary>
    public bool RestartRequested { get; private set; }

    public async Task HandleAsync(Frame frame, CancellationToken cancel)
    {
        switch (frame.Type)
        {
            case MessageType.UpdateOffer:
                Begin(frame.RequestId, frame.Decode(ProtocolJson.Default.UpdateOfferMessage));
                await channel.SendAsync(MessageType.Ok, frame.RequestId, cancel: cancel).ConfigureAwait(false);
                break;
            case MessageType.UpdateData:
                if (_pending is not { } p || p.Id != frame.RequestId) return; // refused at the offer; its end says so
                try
                {
                    if (!p.File.Write(frame.Payload.Span)) Abort("more bytes than offered");
                }
                catch (IOException e) { Abort(e.Message); }
                break;
            default:
                Finish(frame.RequestId);
                await channel.SendAsync(MessageType.Ok, frame.RequestId, cancel: cancel).ConfigureAwait(false);
                RestartRequested = true;
                break;
        }
    }

    private void Begin(uint id, UpdateOfferMessage offer)
    {
        Abort("a new offer replaced it");
        string version = offer.Version ?? "";
        if (!AgentUpdateStatement.IsNewer(version, currentVersion)) throw new ProtocolException($"agent {version} is not newer than this agent ({currentVersion})");
        if (publisherKey.Length == 0) throw new ProtocolException("this agent was built without a publisher key and takes no updates");
        if (offer.Length is <= 0 or > MaxLength) throw new ProtocolException($"an agent of {offer.Length} bytes (the limit is {MaxLength})");
        string target = system.ExecutablePath;
        string temp = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.update");
        _pending = new Pending(id, offer with { Version = version }, IncomingFile.Create(temp, offer.Length, (UnixFileMode)0x1ED)); // 0755
        Linux.AgentLog.Info($"receiving agent {version} ({offer.Length} bytes) from the host");
    }

    private void Finish(uint id)
    {
        if (_pending is not { } p || p.Id != id) throw new ProtocolException($"no update {id} is being received (it was refused or cut short)");
        _pending = null;
        try
        {
            string actual = p.File.Finish();
            if (!string.Equals(actual, p.Offer.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new ProtocolException($"SHA-256 mismatch: the offer said {p.Offer.Sha256}, the agent received {actual}");
            byte[] signature;
            try { signature = Convert.FromBase64String(p.Offer.Signature ?? ""); }
            catch (FormatException) { throw new ProtocolException("the offer's signature is not base64"); }
            var statement = AgentUpdateStatement.For(p.Offer.Version, actual);
            if (!EcdsaP256.Verify(publisherKey, Sha256Stream.Hash(statement), signature))
                throw new ProtocolException($"the signature on agent {p.Offer.Version} does not verify with this agent's publisher key");
            File.Move(p.File.Temp, system.ExecutablePath, overwrite: true);
            Linux.AgentLog.Kernel($"updated from {currentVersion} to {p.Offer.Version}; restarting");
        }
        catch (Exception e) when (e is ProtocolException or IOException or UnauthorizedAccessException)
        {
            p.File.Dispose();
            Linux.AgentLog.Info($"update refused: {e.Message}");
            throw e as ProtocolException ?? new ProtocolException($"cannot put the new agent in place: {e.Message}");
        }
    }

    /// <summary>Drops an update being received (the connection ended, or a new offer came).</summary>
    public void Abort(string why)
    {
        if (_pending is not { } p) return;
        _pending = null;
        p.File.Dispose();
        Linux.AgentLog.Info($"update to {p.Offer.Version} dropped: {why}");
    }
}
