using HyperSharp.Integration.Protocol;

namespace HyperSharp.Guest.Services;

/// <summary>
/// VSS (our form of it): freezes the guest's block-backed file systems in mount order (FIFREEZE), so a checkpoint
/// taken now is consistent, and thaws them in reverse (FITHAW) when the host says — or by itself when the host's
/// timeout passes or the connection is lost, so a host that dies mid-checkpoint never leaves the guest frozen.
/// </summary>
internal sealed class VssService(FrameChannel channel, IGuestSystem system)
{
    public const int MaxTimeoutSeconds = 600;
    private readonly object _lock = new();
    private readonly List<string> _frozen = [];
    private Timer? _autoThaw;

    public async Task HandleAsync(Frame frame, CancellationToken cancel)
    {
        if (frame.Type == MessageType.ThawRequest)
        {
            var thawed = ThawAll("the host asked");
            await channel.SendAsync(MessageType.FreezeReply, frame.RequestId, new FreezeReplyMessage([.. thawed]), ProtocolJson.Default.FreezeReplyMessage, cancel)
                .ConfigureAwait(false);
            return;
        }
        var request = frame.Decode(ProtocolJson.Default.FreezeRequestMessage);
        if (request.TimeoutSeconds is < 1 or > MaxTimeoutSeconds) throw new ProtocolException($"freeze timeout {request.TimeoutSeconds} s: 1 to {MaxTimeoutSeconds}");
        string[] frozen;
        lock (_lock)
        {
            if (_frozen.Count > 0) throw new ProtocolException("the file systems are frozen already; thaw first");
            foreach (var mount in system.FreezableMountPoints())
            {
                try { system.Freeze(mount); }
                catch (IOException e)
                {
                    Linux.AgentLog.Kernel($"freeze failed at {mount} ({e.Message}); thawing what was frozen");
                    ThawLocked("a freeze failed");
                    throw new ProtocolException($"cannot freeze {mount}: {e.Message}");
                }
                _frozen.Add(mount);
                Linux.AgentLog.Kernel($"froze {mount}");
            }
            frozen = [.. _frozen];
            _autoThaw = new Timer(_ => ThawAll($"the {request.TimeoutSeconds} s freeze timeout passed"), null, TimeSpan.FromSeconds(request.TimeoutSeconds), Timeout.InfiniteTimeSpan);
        }
        await channel.SendAsync(MessageType.FreezeReply, frame.RequestId, new FreezeReplyMessage(frozen), ProtocolJson.Default.FreezeReplyMessage, cancel)
            .ConfigureAwait(false);
    }

    /// <summary>Thaws everything frozen, last frozen first; returns the mount points in the order thawed.</summary>
    public List<string> ThawAll(string why)
    {
        lock (_lock) return ThawLocked(why);
    }

    private List<string> ThawLocked(string why)
    {
        _autoThaw?.Dispose();
        _autoThaw = null;
        var thawed = new List<string>();
        for (int i = _frozen.Count - 1; i >= 0; i--)
        {
            try
            {
                system.Thaw(_frozen[i]);
                Linux.AgentLog.Kernel($"thawed {_frozen[i]} ({why})");
            }
            catch (IOException e) { Linux.AgentLog.Kernel($"thaw of {_frozen[i]} failed: {e.Message}"); }
            thawed.Add(_frozen[i]);
        }
        _frozen.Clear();
        return thawed;
    }
}
