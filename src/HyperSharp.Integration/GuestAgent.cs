using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Serialization.Metadata;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Integration;

/// <summary>
/// One connected guest agent: the negotiated protocol version, what the agent said about itself, and the services as
/// methods (each a request answered by the agent). A reader task routes every reply to its request by id and exec
/// output to its command; when the connection ends every pending request fails and <see cref="Completion"/> completes.
/// </summary>
public sealed class GuestAgent : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private readonly FrameChannel _channel;
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<(MessageType Type, byte[] Payload)>> _pending = new();
    private readonly ConcurrentDictionary<uint, GuestCommand> _commands = new();
    private readonly CancellationTokenSource _closed = new();
    private int _nextId;

    private GuestAgent(FrameChannel channel, int version, HelloMessage peer)
    {
        _channel = channel;
        Version = version;
        Peer = peer;
        Completion = Task.Run(ReadLoopAsync);
    }

    /// <summary>Runs the Hello exchange on a fresh connection from an agent.</summary>
    public static async Task<GuestAgent> AcceptAsync(Stream connection, int newestVersion = ProtocolVersions.Current, CancellationToken cancel = default)
    {
        var channel = new FrameChannel(connection);
        try
        {
            var hello = new HelloMessage(ProtocolVersions.Supported(newestVersion), $"HyperSharp host {ProtocolVersions.Current}", []);
            var (version, peer) = await Handshake.RunAsync(channel, hello, cancel).ConfigureAwait(false);
            return new GuestAgent(channel, version, peer);
        }
        catch
        {
            await channel.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The protocol version both sides use.</summary>
    public int Version { get; }

    /// <summary>The agent's Hello: the versions it speaks, its software and services.</summary>
    public HelloMessage Peer { get; }

    /// <summary>Completes when the connection ends (the agent died or reconnects, the VM reset, or this side closed it).</summary>
    public Task Completion { get; }

    private async Task ReadLoopAsync()
    {
        Exception? why = null;
        try
        {
            while (await _channel.ReadAsync(_closed.Token).ConfigureAwait(false) is { } frame)
            {
                if (frame.Type is MessageType.ExecStdout or MessageType.ExecStderr or MessageType.ExecExit)
                {
                    if (_commands.TryGetValue(frame.RequestId, out var command)) command.Receive(frame);
                    if (frame.Type != MessageType.ExecExit) continue;
                }
                if (_pending.TryRemove(frame.RequestId, out var waiter)) waiter.TrySetResult((frame.Type, frame.Payload.ToArray()));
            }
        }
        catch (Exception e) when (e is IOException or ProtocolException or OperationCanceledException or ObjectDisposedException) { why = e; }
        finally
        {
            var gone = new GuestAgentException("the connection to the guest agent ended" + (why is null or OperationCanceledException ? "" : $": {why.Message}"), why);
            foreach (var id in _pending.Keys) if (_pending.TryRemove(id, out var w)) w.TrySetException(gone);
            foreach (var c in _commands.Values) c.Fail(gone);
        }
    }

    internal uint NextId() => (uint)Interlocked.Increment(ref _nextId);

    internal FrameChannel Channel => _channel;

    /// <summary>Sends a request and waits for its reply; an Error reply becomes a <see cref="GuestAgentException"/> with the agent's words.</summary>
    internal async Task<(MessageType Type, byte[] Payload)> RequestAsync(Func<uint, ValueTask> send, uint id, TimeSpan? timeout, CancellationToken cancel)
    {
        var waiter = new TaskCompletionSource<(MessageType, byte[])>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = waiter;
        try
        {
            if (Completion.IsCompleted) throw new GuestAgentException("the guest agent is not connected");
            await send(id).ConfigureAwait(false);
            var reply = await waiter.Task.WaitAsync(timeout ?? DefaultTimeout, cancel).ConfigureAwait(false);
            if (reply.Item1 == MessageType.Error)
                throw new GuestAgentException("the guest agent refused: " + new Frame(reply.Item1, id, reply.Item2).Decode(ProtocolJson.Default.ErrorMessage).Message);
            return reply;
        }
        catch (TimeoutException) { throw new GuestAgentException($"the guest agent did not answer within {(timeout ?? DefaultTimeout).TotalSeconds:F0} s"); }
        catch (IOException e) { throw new GuestAgentException($"the connection to the guest agent failed: {e.Message}", e); }
        finally { _pending.TryRemove(id, out _); }
    }

    internal async Task<TReply> CallAsync<TRequest, TReply>(MessageType type, TRequest request, JsonTypeInfo<TRequest> requestInfo, MessageType replyType,
        JsonTypeInfo<TReply> replyInfo, TimeSpan? timeout = null, CancellationToken cancel = default) where TReply : class
    {
        var reply = await RequestAsync(id => _channel.SendAsync(type, id, request, requestInfo, cancel), NextId(), timeout, cancel).ConfigureAwait(false);
        if (reply.Type != replyType) throw new GuestAgentException($"the guest agent answered {type} with {reply.Type}");
        return new Frame(reply.Type, 0, reply.Payload).Decode(replyInfo);
    }

    internal async Task CallAsync<TRequest>(MessageType type, TRequest request, JsonTypeInfo<TRequest> requestInfo, TimeSpan? timeout = null, CancellationToken cancel = default)
    {
        var reply = await RequestAsync(id => _channel.SendAsync(type, id, request, requestInfo, cancel), NextId(), timeout, cancel).ConfigureAwait(false);
        if (reply.Type != MessageType.Ok) throw new GuestAgentException($"the guest agent answered {type} with {reply.Type}");
    }

    /// <summary>Heartbeat: the agent answers; returns the round trip.</summary>
    public async Task<TimeSpan> HeartbeatAsync(TimeSpan? timeout = null, CancellationToken cancel = default)
    {
        var sw = Stopwatch.StartNew();
        var reply = await RequestAsync(id => _channel.SendAsync(MessageType.HeartbeatRequest, id, cancel: cancel), NextId(), timeout, cancel).ConfigureAwait(false);
        if (reply.Type != MessageType.HeartbeatReply) throw new GuestAgentException($"the guest agent answered a heartbeat with {reply.Type}");
        return sw.Elapsed;
    }

    /// <summary>Shutdown: asks the agent to shut the guest down cleanly; returns once it has accepted (the agent then ends the connection).</summary>
    public Task ShutdownAsync(string reason, CancellationToken cancel = default) =>
        CallAsync(MessageType.ShutdownRequest, new ShutdownRequestMessage(reason), ProtocolJson.Default.ShutdownRequestMessage, cancel: cancel);

    /// <summary>Time Synchronization: sets the guest clock to the host's; returns how far the guest was off (guest − host) before.</summary>
    public async Task<TimeSpan> SyncTimeAsync(CancellationToken cancel = default)
    {
        long now = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks / 10;
        var reply = await CallAsync(MessageType.TimeSyncRequest, new TimeSyncRequestMessage(now), ProtocolJson.Default.TimeSyncRequestMessage,
            MessageType.TimeSyncReply, ProtocolJson.Default.TimeSyncReplyMessage, cancel: cancel).ConfigureAwait(false);
        return TimeSpan.FromTicks(reply.OffsetMicroseconds * 10);
    }

    /// <summary>
    /// Key-Value Pair Exchange: adds or replaces an item of a pool the host writes — External (host → guest data), or
    /// AutoExternal (the guest parameters Hyper-V publishes: VirtualMachineId and the like).
    /// </summary>
    public Task SetKvpAsync(string key, string value, CancellationToken cancel = default, KvpPool pool = KvpPool.External)
    {
        if (pool is not (KvpPool.External or KvpPool.AutoExternal)) throw new ArgumentException($"the host writes the External and AutoExternal pools, not {pool}");
        if (KvpLimits.Check(pool, key, value) is string why) throw new ArgumentException(why);
        return CallAsync(MessageType.KvpSet, new KvpSetMessage(pool, key, value), ProtocolJson.Default.KvpSetMessage, cancel: cancel);
    }

    public Task DeleteKvpAsync(string key, CancellationToken cancel = default) =>
        CallAsync(MessageType.KvpDelete, new KvpDeleteMessage(KvpPool.External, key), ProtocolJson.Default.KvpDeleteMessage, cancel: cancel);

    /// <summary>The items of a pool: Guest (guest → host), Auto (the guest's intrinsic items), External (what the host set)...</summary>
    public async Task<IReadOnlyList<KvpItem>> GetKvpAsync(KvpPool pool, CancellationToken cancel = default)
    {
        var reply = await CallAsync(MessageType.KvpEnumerate, new KvpEnumerateMessage(pool), ProtocolJson.Default.KvpEnumerateMessage,
            MessageType.KvpItems, ProtocolJson.Default.KvpItemsMessage, cancel: cancel).ConfigureAwait(false);
        return reply.Items ?? [];
    }

    /// <summary>The guest's host name, OS and each adapter's MAC and addresses (what Get-VMNetworkAdapter's IPAddresses show).</summary>
    public async Task<GuestInfoMessage> GetGuestInfoAsync(CancellationToken cancel = default)
    {
        var reply = await RequestAsync(id => _channel.SendAsync(MessageType.GuestInfoRequest, id, cancel: cancel), NextId(), null, cancel).ConfigureAwait(false);
        if (reply.Type != MessageType.GuestInfo) throw new GuestAgentException($"the guest agent answered GuestInfoRequest with {reply.Type}");
        return new Frame(reply.Type, 0, reply.Payload).Decode(ProtocolJson.Default.GuestInfoMessage);
    }

    /// <summary>VSS: freezes the guest's file systems (thawed by the agent itself after <paramref name="timeout"/>); returns them in freeze order.</summary>
    public async Task<string[]> FreezeAsync(TimeSpan timeout, CancellationToken cancel = default) =>
        (await CallAsync(MessageType.FreezeRequest, new FreezeRequestMessage((int)Math.Ceiling(timeout.TotalSeconds)), ProtocolJson.Default.FreezeRequestMessage,
            MessageType.FreezeReply, ProtocolJson.Default.FreezeReplyMessage, cancel: cancel).ConfigureAwait(false)).MountPoints ?? [];

    /// <summary>VSS: thaws what was frozen; returns the mount points in thaw order (the reverse).</summary>
    public async Task<string[]> ThawAsync(CancellationToken cancel = default)
    {
        var reply = await RequestAsync(id => _channel.SendAsync(MessageType.ThawRequest, id, cancel: cancel), NextId(), null, cancel).ConfigureAwait(false);
        if (reply.Type != MessageType.FreezeReply) throw new GuestAgentException($"the guest agent answered ThawRequest with {reply.Type}");
        return new Frame(reply.Type, 0, reply.Payload).Decode(ProtocolJson.Default.FreezeReplyMessage).MountPoints ?? [];
    }

    /// <summary>Guest Service Interface (Copy-VMFile -FileSource Host): see <see cref="FileCopy"/>.</summary>
    public Task CopyFileAsync(string sourcePath, string destinationPath, bool createFullPath, bool force, CancellationToken cancel = default) =>
        FileCopy.RunAsync(this, sourcePath, destinationPath, createFullPath, force, cancel);

    /// <summary>
    /// Starts a command in the guest (protocol 2); see <see cref="GuestCommand"/>. With <paramref name="user"/> (protocol 4)
    /// the agent runs it as that guest account once <paramref name="password"/> checks out; refused credentials end the
    /// command with <see cref="ExecExitCodes.CredentialsRefused"/> and the reason on its stderr.
    /// </summary>
    public async Task<GuestCommand> StartAsync(IReadOnlyList<string> arguments, string? workingDirectory = null, CancellationToken cancel = default,
        string? user = null, string? password = null)
    {
        if (Version < ProtocolVersions.Exec)
            throw new GuestAgentException($"the guest agent speaks protocol {Version}; running commands needs protocol {ProtocolVersions.Exec} (update the agent)");
        // An older agent would ignore the account and run the command as itself.
        if (!string.IsNullOrEmpty(user) && Version < ProtocolVersions.ExecAsUser)
            throw new GuestAgentException($"the guest agent speaks protocol {Version}; running a command as a guest account needs protocol {ProtocolVersions.ExecAsUser} (update the agent)");
        uint id = NextId();
        var command = new GuestCommand(this, id);
        _commands[id] = command;
        try
        {
            var reply = await RequestAsync(i => _channel.SendAsync(MessageType.ExecStart, i, new ExecStartMessage([.. arguments], workingDirectory, null, string.IsNullOrEmpty(user) ? null : user, password),
                ProtocolJson.Default.ExecStartMessage, cancel), id, null, cancel).ConfigureAwait(false);
            if (reply.Type != MessageType.ExecStarted) throw new GuestAgentException($"the guest agent answered ExecStart with {reply.Type}");
            command.ProcessId = new Frame(reply.Type, id, reply.Payload).Decode(ProtocolJson.Default.ExecStartedMessage).ProcessId;
            return command;
        }
        catch
        {
            _commands.TryRemove(id, out _);
            throw;
        }
    }

    /// <summary>
    /// Offers <paramref name="package"/> to the agent (protocol 3) and sends it; the agent checks the publisher's
    /// signature, puts it in place and restarts, so this connection ends once it answers. A refusal (not newer, a bad
    /// signature) is a <see cref="GuestAgentException"/> with the agent's reason; the guest keeps its agent.
    /// </summary>
    public async Task UpdateAsync(AgentUpdatePackage package, CancellationToken cancel = default)
    {
        if (Version < ProtocolVersions.Update)
            throw new GuestAgentException($"the guest agent speaks protocol {Version}; updating it in place needs protocol {ProtocolVersions.Update} (install the new agent in the guest)");
        await using var source = new FileStream(package.ExecutablePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        uint id = NextId();
        var offer = new UpdateOfferMessage(package.Version, source.Length, package.Sha256, Convert.ToBase64String(package.Signature));
        await RequestAsync(i => _channel.SendAsync(MessageType.UpdateOffer, i, offer, ProtocolJson.Default.UpdateOfferMessage, cancel), id, null, cancel).ConfigureAwait(false);
        var (sent, _) = await ChunkedUpload.SendAsync(this, id, source, MessageType.UpdateData, cancel).ConfigureAwait(false);
        if (sent != offer.Length) throw new IOException($"{package.ExecutablePath} changed size while it was sent ({offer.Length} then {sent} bytes)");
        await RequestAsync(i => _channel.SendAsync(MessageType.UpdateEnd, i, cancel: cancel), id, TimeSpan.FromMinutes(5), cancel).ConfigureAwait(false);
    }

    internal void Forget(GuestCommand command) => _commands.TryRemove(command.Id, out _);

    public async ValueTask DisposeAsync()
    {
        _closed.Cancel();
        await _channel.DisposeAsync().ConfigureAwait(false);
        try { await Completion.ConfigureAwait(false); } catch (Exception e) when (e is GuestAgentException or OperationCanceledException) { }
    }
}
