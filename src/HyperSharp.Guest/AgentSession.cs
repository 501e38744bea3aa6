using HyperSharp.Guest.Services;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Guest;

/// <summary>
/// One connection to the host: the Hello exchange, then each frame handed to the service that owns its type until
/// the host goes away. A malformed message is answered with an Error and the session goes on; a broken frame (a
/// length beyond the limit, the stream ending inside one) ends it. On the way out, frozen file systems are thawed,
/// commands started for this host are killed and half-copied files removed.
/// </summary>
/// <param name="version">this agent's version; <see cref="AgentBuild.Version"/> unless a test plays another build</param>
/// <param name="publisherKey">the key an update's signature must verify with; <see cref="AgentBuild.PublisherKey"/> unless a test plays another</param>
/// <param name="activationKey">the key an activation token must verify with; <see cref="AgentBuild.ActivationKey"/> unless a test plays another</param>
public sealed class AgentSession(FrameChannel channel, IGuestSystem system, int newestVersion = ProtocolVersions.Current, string? version = null, byte[]? publisherKey = null,
    byte[]? activationKey = null)
{
    public static readonly string[] ServiceNames = ["Heartbeat", "Shutdown", "Time Synchronization", "Key-Value Pair Exchange", "VSS", "Guest Service Interface", "Exec"];

    public int Version { get; private set; }

    /// <summary>Serves the host until it goes away; true when an update was put in place and the agent must restart as the new one.</summary>
    public async Task<bool> RunAsync(CancellationToken cancel = default)
    {
        string agentVersion = version ?? AgentBuild.Version;
        var hello = new HelloMessage(ProtocolVersions.Supported(newestVersion), $"hs-agent {agentVersion}", ServiceNames);
        (Version, var host) = await Handshake.RunAsync(channel, hello, cancel).ConfigureAwait(false);
        Linux.AgentLog.Info($"connected to {host.Software}, protocol {Version}");
        var vss = new VssService(channel, system);
        var files = new FileCopyService(channel);
        var exec = new ExecService(channel, system);
        var kvp = new KvpService(channel, system.KvpDirectory);
        var update = new UpdateService(channel, system, publisherKey ?? AgentBuild.PublisherKey, agentVersion);
        new ActivationService(kvp, activationKey ?? AgentBuild.ActivationKey).Request();
        try
        {
            while (await channel.ReadAsync(cancel).ConfigureAwait(false) is { } frame)
            {
                try
                {
                    switch (frame.Type)
                    {
                        case MessageType.HeartbeatRequest:
                            await channel.SendAsync(MessageType.HeartbeatReply, frame.RequestId, new HeartbeatReplyMessage(Environment.TickCount64 / 1000.0),
                                ProtocolJson.Default.HeartbeatReplyMessage, cancel).ConfigureAwait(false);
                            break;
                        case MessageType.ShutdownRequest:
                            await ShutdownService.HandleAsync(channel, system, frame, cancel).ConfigureAwait(false);
                            break;
                        case MessageType.TimeSyncRequest:
                            await TimeSyncService.HandleAsync(channel, system, frame, cancel).ConfigureAwait(false);
                            break;
                        case MessageType.KvpSet or MessageType.KvpDelete or MessageType.KvpEnumerate or MessageType.GuestInfoRequest:
                            await kvp.HandleAsync(frame, cancel).ConfigureAwait(false);
                            break;
                        case MessageType.FreezeRequest or MessageType.ThawRequest:
                            await vss.HandleAsync(frame, cancel).ConfigureAwait(false);
                            break;
                        case MessageType.CopyFileBegin or MessageType.FileData or MessageType.CopyFileEnd:
                            await files.HandleAsync(frame, cancel).ConfigureAwait(false);
                            break;
                        case MessageType.ExecStart or MessageType.ExecStdin or MessageType.ExecStdinClose or MessageType.ExecSignal when Version >= ProtocolVersions.Exec:
                            await exec.HandleAsync(frame, cancel).ConfigureAwait(false);
                            break;
                        case MessageType.UpdateOffer or MessageType.UpdateData or MessageType.UpdateEnd when Version >= ProtocolVersions.Update:
                            await update.HandleAsync(frame, cancel).ConfigureAwait(false);
                            if (update.RestartRequested) return true;
                            break;
                        default:
                            await channel.SendErrorAsync(frame.RequestId, $"message type {(ushort)frame.Type} is not part of protocol {Version}", cancel).ConfigureAwait(false);
                            break;
                    }
                }
                catch (ProtocolException e)
                {
                    Linux.AgentLog.Info($"refused a {frame.Type} message: {e.Message}");
                    await channel.SendErrorAsync(frame.RequestId, e.Message, cancel).ConfigureAwait(false);
                }
            }
            return false;
        }
        finally
        {
            update.Abort("the session ended");
            vss.ThawAll("the connection to the host was lost");
            files.AbortAll();
            exec.KillAll();
        }
    }
}
