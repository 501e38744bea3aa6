using System.Net.Sockets;
using HyperSharp.Integration.Protocol;

namespace HyperSharp.Integration;

/// <summary>Heartbeat status as Hyper-V names it: never heard from, answering, or no longer answering.</summary>
public enum HeartbeatStatus { NoContact, Ok, LostCommunication }

/// <summary>Timings of the host side of the integration services.</summary>
public sealed record GuestAgentHostOptions
{
    /// <summary>How often a heartbeat is sent.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>A heartbeat unanswered this long means Lost Communication (a closed connection means it at once).</summary>
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>How often the guest clock is set again (it is also set on every connection: start, restore, agent restart).</summary>
    public TimeSpan TimeSyncInterval { get; init; } = TimeSpan.FromMinutes(1);
    /// <summary>Whether the guest clock is set at all at first (the VM's Time Synchronization service; <see cref="GuestAgentHost.TimeSynchronization"/> changes it later).</summary>
    public bool TimeSynchronization { get; init; } = true;
    /// <summary>The newest protocol this host speaks (lower only to play an older host in tests).</summary>
    public int NewestProtocol { get; init; } = ProtocolVersions.Current;
}

/// <summary>
/// The host's end of one VM's integration services: listens where the VM's vsock device delivers the agent's
/// connection (<c>vsockSocket_18515</c>), runs the Hello exchange, sets the guest clock on every connection and
/// periodically, and keeps the heartbeat status — each change raised as an event, none polled by callers. A new
/// connection (the agent restarted, the VM was restored) replaces the old.
/// </summary>
public sealed class GuestAgentHost : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly string _path;
    private readonly GuestAgentHostOptions _options;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _lock = new();
    private GuestAgent? _agent;
    private TaskCompletionSource<GuestAgent> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _accepting;

    /// <param name="vsockSocketPath">the VM's vsock Unix socket (`hyper vm run --vsock PATH`, a host-managed VM's vsock.sock)</param>
    public GuestAgentHost(string vsockSocketPath, GuestAgentHostOptions? options = null, Action<string>? log = null)
    {
        _path = $"{vsockSocketPath}_{AgentPort.Number}";
        _options = options ?? new GuestAgentHostOptions();
        _timeSynchronization = _options.TimeSynchronization;
        _log = log ?? (_ => { });
        if (File.Exists(_path)) File.Delete(_path); // a socket file left by a host that died; the VM's own socket is elsewhere
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            _listener.Bind(new UnixDomainSocketEndPoint(_path));
            _listener.Listen(4);
        }
        catch (SocketException e)
        {
            _listener.Dispose();
            throw new IOException($"cannot listen for the guest agent at {_path}: {e.Message}", e);
        }
        _accepting = Task.Run(AcceptLoopAsync);
    }

    public HeartbeatStatus Heartbeat { get; private set; } = HeartbeatStatus.NoContact;

    private volatile bool _timeSynchronization;

    /// <summary>Whether the guest clock is set (the VM's Time Synchronization service); turned on, the clock is set at once.</summary>
    public bool TimeSynchronization
    {
        get => _timeSynchronization;
        set
        {
            bool was = _timeSynchronization;
            _timeSynchronization = value;
            if (value && !was && Agent is { } agent) _ = SyncTimeAsync(agent);
        }
    }

    /// <summary>Raised on every heartbeat status change, with the new status.</summary>
    public event Action<HeartbeatStatus>? HeartbeatChanged;

    /// <summary>Raised when an agent has connected and said Hello (before its first heartbeat).</summary>
    public event Action<GuestAgent>? Connected;

    /// <summary>The guest clock's offset (guest − host) before the last time it was set.</summary>
    public TimeSpan? LastTimeOffset { get; private set; }

    /// <summary>The connected agent, or null.</summary>
    public GuestAgent? Agent { get { lock (_lock) return _agent is { Completion.IsCompleted: false } a ? a : null; } }

    /// <summary>The connected agent, waiting for one to connect (after a start, a restore or an agent restart) if need be.</summary>
    public Task<GuestAgent> WaitForAgentAsync(CancellationToken cancel = default)
    {
        lock (_lock)
        {
            if (_agent is { Completion.IsCompleted: false } a) return Task.FromResult(a);
            if (_connected.Task.IsCompleted) _connected = new TaskCompletionSource<GuestAgent>(TaskCreationOptions.RunContinuationsAsynchronously); // held a dead agent
            return _connected.Task.WaitAsync(cancel);
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        GuestAgent agent;
        try { agent = await GuestAgent.AcceptAsync(new NetworkStream(client, ownsSocket: true), _options.NewestProtocol, _stop.Token).ConfigureAwait(false); }
        catch (Exception e) when (e is ProtocolException or IOException or OperationCanceledException or SocketException)
        {
            _log($"guest agent connection refused: {e.Message}");
            client.Dispose();
            return;
        }
        GuestAgent? previous;
        lock (_lock)
        {
            previous = _agent;
            _agent = agent;
            _connected.TrySetResult(agent);
        }
        if (previous is not null) await previous.DisposeAsync().ConfigureAwait(false);
        _log($"guest agent connected: {agent.Peer.Software}, protocol {agent.Version}");
        Connected?.Invoke(agent);
        if (_timeSynchronization) await SyncTimeAsync(agent).ConfigureAwait(false);
        await MonitorAsync(agent).ConfigureAwait(false);
    }

    private async Task SyncTimeAsync(GuestAgent agent)
    {
        try { LastTimeOffset = await agent.SyncTimeAsync(_stop.Token).ConfigureAwait(false); }
        catch (Exception e) when (e is GuestAgentException or OperationCanceledException) { _log($"time synchronization failed: {e.Message}"); }
    }

    /// <summary>Heartbeats until the connection ends or goes quiet; the clock is set again every TimeSyncInterval.</summary>
    private async Task MonitorAsync(GuestAgent agent)
    {
        var lastSync = DateTime.UtcNow;
        while (!_stop.IsCancellationRequested && !agent.Completion.IsCompleted)
        {
            try
            {
                await agent.HeartbeatAsync(_options.HeartbeatTimeout, _stop.Token).ConfigureAwait(false);
                SetHeartbeat(agent, HeartbeatStatus.Ok);
            }
            catch (GuestAgentException) { SetHeartbeat(agent, HeartbeatStatus.LostCommunication); }
            catch (OperationCanceledException) { return; }
            if (_timeSynchronization && DateTime.UtcNow - lastSync >= _options.TimeSyncInterval)
            {
                lastSync = DateTime.UtcNow;
                await SyncTimeAsync(agent).ConfigureAwait(false);
            }
            // The connection ending wakes this at once: a dead agent is lost now, not at the next heartbeat.
            await Task.WhenAny(agent.Completion, Task.Delay(_options.HeartbeatInterval, _stop.Token)).ConfigureAwait(false);
        }
        if (!_stop.IsCancellationRequested) SetHeartbeat(agent, HeartbeatStatus.LostCommunication);
        lock (_lock) if (_agent == agent) _connected = new TaskCompletionSource<GuestAgent>(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private void SetHeartbeat(GuestAgent from, HeartbeatStatus status)
    {
        lock (_lock)
        {
            if (_agent != from || Heartbeat == status) return; // a replaced connection no longer speaks for the guest
            Heartbeat = status;
        }
        _log($"heartbeat: {status}");
        HeartbeatChanged?.Invoke(status);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        try { File.Delete(_path); } catch (IOException) { }
        GuestAgent? agent;
        lock (_lock) agent = _agent;
        if (agent is not null) await agent.DisposeAsync().ConfigureAwait(false);
        await _accepting.ConfigureAwait(false);
    }
}
