using HyperSharp.Integration;
using HyperSharp.Integration.Protocol;
using HyperSharp.Inventory;
using HyperSharp.Inventory.Workers;

namespace HyperSharp.Worker;

/// <summary>
/// The worker's side of a host-managed VM's integration services: a <see cref="GuestAgentHost"/> on the VM's vsock socket,
/// and every change of what it learns — heartbeat, the agent's protocol and software, the guest's host name, OS and
/// addresses — passed to <c>report</c> whole, so the host holds the last and never asks. The agent has no message that
/// tells of a changed address, so while it answers the worker asks it for the guest's facts every
/// <see cref="GuestInfoInterval"/> (over vsock, inside this process) and reports only a difference.
/// </summary>
internal sealed class WorkerIntegration : IAsyncDisposable
{
    public static readonly TimeSpan GuestInfoInterval = TimeSpan.FromSeconds(2);
    private readonly GuestAgentHost _host;
    private volatile IntegrationServiceSettings _services;
    private readonly Action<GuestIntegrationStatus> _report;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _lock = new();
    private readonly Task _watching;
    private GuestIntegrationStatus _status = new();
    private GuestAgent? _parametersSentTo; // the agent the guest parameters (VirtualMachineId) were last published to
    private GuestAgent? _activationSettledFor; // the agent whose activation state is final for its connection
    private volatile AgentUpdatePackage? _update;
    private int _updatesOffered;

    /// <summary>Offers of one package at most: an agent that comes back older after taking it would otherwise be offered it for ever.</summary>
    private const int MaxOffers = 2;

    private readonly Guid _vmId;
    private readonly string _vmName;
    private ActivationKey? _activationKey;
    private string? _answeredNonce;

    public WorkerIntegration(Guid vmId, string vmName, string vsockSocket, IntegrationServiceSettings services, Action<GuestIntegrationStatus> report, Action<string> log)
    {
        (_vmId, _vmName) = (vmId, vmName);
        _services = services;
        _report = report;
        _log = log;
        _host = new GuestAgentHost(vsockSocket, new GuestAgentHostOptions { TimeSynchronization = services.TimeSynchronization }, line => log($"integration: {line}"));
        _host.Connected += agent =>
        {
            Change(s => s with { ProtocolVersion = agent.Version, AgentSoftware = Cut(agent.Peer.Software), AgentUpToDate = UpToDate(agent) });
            _ = OfferUpdateAsync(agent);
        };
        _host.HeartbeatChanged += heartbeat => Change(s => s with { Heartbeat = Name(heartbeat) });
        _watching = Task.Run(WatchGuestInfoAsync);
    }

    /// <summary>
    /// The newer agent the host carries (<c>null</c>: none): loaded from <paramref name="folder"/> as the host's attach
    /// names it, and offered at once to a connected agent that is older. A folder that cannot be loaded is logged and ignored.
    /// </summary>
    public void SetAgentUpdate(string? folder)
    {
        AgentUpdatePackage? package = null;
        if (folder is not null)
        {
            try { package = AgentUpdatePackage.Load(folder); }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                _log($"integration: no agent updates: {e.Message}");
            }
        }
        if (package?.Version == _update?.Version) return;
        _update = package;
        _updatesOffered = 0;
        if (_host.Agent is { } agent)
        {
            Change(s => s with { AgentUpToDate = UpToDate(agent) });
            _ = OfferUpdateAsync(agent);
        }
    }

    /// <summary>
    /// The activation key this host holds (a P-256 private key in PEM, as `hyper host --activation-key` names it; null:
    /// none, and guests that ask stay not activated). A file that cannot be read is logged and treated as none.
    /// </summary>
    public void SetActivationKey(string? pemFile)
    {
        ActivationKey? key = null;
        if (pemFile is not null)
        {
            try { key = ActivationKey.Load(pemFile); }
            catch (InvalidDataException e) { _log($"integration: no activation: {e.Message}"); }
        }
        Volatile.Write(ref _activationKey, key); // the one replaced is left to the collector: the guest-facts loop may be signing with it
        _activationSettledFor = null; // asked again with this key
    }

    /// <summary>
    /// Activation and the guest parameters, each round of the guest-facts loop: publishes the VM's ID in AutoExternal (as
    /// Hyper-V's guest parameters do), answers a new request in the guest's pool with a token signed by the activation key
    /// (when this host holds one), and returns the state the agent keeps.
    /// </summary>
    private async Task<string> ActivationAsync(GuestAgent agent, bool connectedNow)
    {
        if (connectedNow)
        {
            _answeredNonce = null;
            await agent.SetKvpAsync(GuestActivation.VirtualMachineIdKey, _vmId.ToString("D"), _stop.Token, KvpPool.AutoExternal).ConfigureAwait(false);
            await agent.SetKvpAsync("VirtualMachineName", Cut(_vmName), _stop.Token, KvpPool.AutoExternal).ConfigureAwait(false);
        }
        var guest = await agent.GetKvpAsync(KvpPool.Guest, _stop.Token).ConfigureAwait(false);
        string? nonce = guest.FirstOrDefault(i => i.Key == GuestActivation.RequestKey)?.Value;
        if (nonce is { Length: > 0 and <= 64 } && nonce != _answeredNonce && Volatile.Read(ref _activationKey) is { } key)
        {
            await agent.SetKvpAsync(GuestActivation.TokenKey, key.Token(_vmId, nonce), _stop.Token).ConfigureAwait(false);
            _answeredNonce = nonce;
            guest = await agent.GetKvpAsync(KvpPool.Guest, _stop.Token).ConfigureAwait(false);
        }
        string state = CutTo(guest.FirstOrDefault(i => i.Key == GuestActivation.StateKey)?.Value, 4 * MaxText);
        // No token will come from a host without the key: say that rather than the agent's "waiting".
        return Volatile.Read(ref _activationKey) is null && state.EndsWith(GuestActivation.Waiting, StringComparison.Ordinal)
            ? $"{GuestActivation.NotActivated}: this host holds no activation key"
            : state;
    }

    /// <summary>
    /// Whether <paramref name="state"/> is final for this connection: activated, or refused for a reason — or, on a host
    /// without the key, whatever the agent said (no token will come). The agent asks again only on its next connection.
    /// </summary>
    private bool Settled(string state) =>
        state == GuestActivation.Activated
        || (state.Length > 0 && (Volatile.Read(ref _activationKey) is null || (_answeredNonce is not null && !state.EndsWith(GuestActivation.Waiting, StringComparison.Ordinal))));

    /// <summary>Hyper-V's "Up to date": the agent speaks this worker's newest protocol and is not older than the agent the host carries.</summary>
    private bool UpToDate(GuestAgent agent) =>
        agent.Peer.Versions.Contains(ProtocolVersions.Current) && _update?.IsNewerThan(agent.Peer.Software ?? "") != true;

    /// <summary>Offers the host's newer agent to <paramref name="agent"/> when it is older; the agent restarts as the new one and reconnects.</summary>
    private async Task OfferUpdateAsync(GuestAgent agent)
    {
        if (_update is not { } update || !update.IsNewerThan(agent.Peer.Software ?? "")) return;
        if (agent.Version < ProtocolVersions.Update)
        {
            _log($"integration: the guest's agent ({agent.Peer.Software}) speaks protocol {agent.Version} and cannot take agent {update.Version} in place; install it in the guest");
            return;
        }
        if (Interlocked.Increment(ref _updatesOffered) > MaxOffers)
        {
            _log($"integration: agent {update.Version} was offered {MaxOffers} times and the guest still runs {agent.Peer.Software}; not offered again");
            return;
        }
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await agent.UpdateAsync(update, _stop.Token).ConfigureAwait(false);
            _log($"integration: the guest's agent took agent {update.Version} (it was {agent.Peer.Software}) in {clock.Elapsed.TotalSeconds:F2} s and restarts");
        }
        catch (GuestAgentException e) { _log($"integration: agent {update.Version} was not taken: {e.Message}"); }
        catch (IOException e) { _log($"integration: agent {update.Version} could not be sent: {e.Message}"); }
        catch (OperationCanceledException) { }
    }

    /// <summary>The VM's services changed while it runs (Enable-/Disable-VMIntegrationService): the clock and the guest's facts follow at once.</summary>
    public void Apply(IntegrationServiceSettings services)
    {
        _services = services;
        _host.TimeSynchronization = services.TimeSynchronization;
    }

    /// <summary>
    /// Reports the status as it is now, for a host that just attached: a change between the host's "ready" status and
    /// the channel being attached was reported to no one. Under the same lock as every change, so it is never older than one sent.
    /// </summary>
    public void ReportAgain()
    {
        lock (_lock) _report(_status);
    }

    /// <summary>What the worker knows of the agent now.</summary>
    public GuestIntegrationStatus Status { get { lock (_lock) return _status; } }

    /// <summary>Asks the agent to shut the guest down cleanly; refused (<see cref="InvalidOperationException"/>) when no agent answers.</summary>
    public async Task ShutdownAsync(string reason)
    {
        try { await Connected().ShutdownAsync(reason, _stop.Token).ConfigureAwait(false); }
        catch (GuestAgentException e) { throw new InvalidOperationException($"the guest agent did not take the shutdown: {e.Message}", e); }
    }

    /// <summary>Copy-VMFile -FileSource Host: <paramref name="source"/> on the host to <paramref name="destination"/> in the guest.</summary>
    public async Task CopyFileAsync(string source, string destination, bool createFullPath, bool force)
    {
        try { await Connected().CopyFileAsync(source, destination, createFullPath, force, _stop.Token).ConfigureAwait(false); }
        catch (GuestAgentException e) { throw new InvalidOperationException($"the file was not copied into the guest: {e.Message}", e); }
        catch (FileNotFoundException) { throw new InvalidOperationException($"{source}: no such file on the host"); }
        catch (DirectoryNotFoundException) { throw new InvalidOperationException($"{source}: no such file on the host"); }
    }

    /// <summary>Starts a command in the guest (`hyper vm exec`); refused when no agent answers or it speaks too old a protocol.</summary>
    public async Task<GuestCommand> StartAsync(IReadOnlyList<string> arguments, string? user = null, string? password = null)
    {
        try { return await Connected().StartAsync(arguments, cancel: _stop.Token, user: user, password: password).ConfigureAwait(false); }
        catch (GuestAgentException e) { throw new InvalidOperationException($"the command did not start in the guest: {e.Message}", e); }
    }

    /// <summary>VSS: the agent freezes the guest's file systems (and thaws them itself after <paramref name="agentTimeout"/>); refused when no agent answers.</summary>
    public async Task<string[]> FreezeAsync(TimeSpan agentTimeout, CancellationToken cancel)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancel, _stop.Token);
        try { return await Connected().FreezeAsync(agentTimeout, both.Token).ConfigureAwait(false); }
        catch (GuestAgentException e) { throw new InvalidOperationException($"the guest agent did not freeze the guest: {e.Message}", e); }
    }

    /// <summary>VSS: the agent thaws what it froze; returns the mount points in thaw order.</summary>
    public async Task<string[]> ThawAsync(CancellationToken cancel)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancel, _stop.Token);
        try { return await Connected().ThawAsync(both.Token).ConfigureAwait(false); }
        catch (GuestAgentException e) { throw new InvalidOperationException($"the guest agent did not thaw the guest: {e.Message}", e); }
    }

    private GuestAgent Connected() => _host.Agent
        ?? throw new InvalidOperationException("the guest agent is not connected (is hs-agent running in the guest?)");

    /// <summary>While an agent answers and Key-Value Pair Exchange is on: its guest facts, reported when they differ.</summary>
    private async Task WatchGuestInfoAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            GuestAgent agent;
            try { agent = await _host.WaitForAgentAsync(_stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            while (!agent.Completion.IsCompleted && !_stop.IsCancellationRequested)
            {
                try
                {
                    if (!_services.KeyValuePairExchange)
                    {
                        await Task.WhenAny(agent.Completion, Task.Delay(GuestInfoInterval, _stop.Token)).ConfigureAwait(false);
                        continue;
                    }
                    var info = await agent.GetGuestInfoAsync(_stop.Token).ConfigureAwait(false);
                    Change(s => Differs(s, info) ? With(s, info) : s);
                    if (!ReferenceEquals(agent, _activationSettledFor))
                    {
                        // After the guest's facts, so activation never delays them; once settled, not asked again until the next connection.
                        string activation = await ActivationAsync(agent, connectedNow: !ReferenceEquals(agent, _parametersSentTo)).ConfigureAwait(false);
                        _parametersSentTo = agent;
                        Change(s => s.Activation != activation ? s with { Activation = activation } : s);
                        if (Settled(activation)) _activationSettledFor = agent;
                    }
                }
                catch (GuestAgentException e) { _log($"integration: the guest's facts could not be read: {e.Message}"); }
                catch (OperationCanceledException) { return; }
                await Task.WhenAny(agent.Completion, Task.Delay(GuestInfoInterval, _stop.Token)).ConfigureAwait(false);
            }
        }
    }

    private void Change(Func<GuestIntegrationStatus, GuestIntegrationStatus> change)
    {
        GuestIntegrationStatus now;
        lock (_lock)
        {
            var before = _status;
            now = change(before);
            if (ReferenceEquals(now, before) || now == before) return;
            _status = now;
            // Reported under the lock: two changes never reach the host in the other order.
            _report(now);
        }
    }

    private static bool Differs(GuestIntegrationStatus s, GuestInfoMessage info)
    {
        var next = With(s, info);
        if (s.HostName != next.HostName || s.OsName != next.OsName || s.OsVersion != next.OsVersion || s.Adapters.Count != next.Adapters.Count) return true;
        for (int i = 0; i < s.Adapters.Count; i++)
            if (s.Adapters[i].MacAddress != next.Adapters[i].MacAddress || s.Adapters[i].Name != next.Adapters[i].Name
                || !s.Adapters[i].Addresses.SequenceEqual(next.Adapters[i].Addresses)) return true;
        return false;
    }

    /// <summary>
    /// The guest's facts as the host gets them, bounded: the guest writes them, and a report line past the host's 64 KiB
    /// limit would cost the host its channel to this worker. At most <see cref="MaxAdapters"/> adapters of
    /// <see cref="MaxAddresses"/> addresses each, every text cut at <see cref="MaxText"/> characters (about 40 KiB in all).
    /// </summary>
    // The ?? guards: the JSON comes from the guest, which may send null where the record says an array.
    internal static GuestIntegrationStatus With(GuestIntegrationStatus s, GuestInfoMessage info) => s with
    {
        HostName = Cut(info.HostName), OsName = Cut(info.OSName), OsVersion = Cut(info.OSVersion),
        Adapters = [.. (info.Adapters ?? []).Take(MaxAdapters).Select(a => new GuestAdapterAddresses(Cut(HostMac(a.MacAddress ?? "")), Cut(a.Name),
            [.. (a.IPv4Addresses ?? []).Concat(a.IPv6Addresses ?? []).Take(MaxAddresses).Select(Cut)]))],
    };

    internal const int MaxAdapters = 32, MaxAddresses = 16, MaxText = 64;

    // One parameter on purpose: Select(Cut) above must bind to Select's element-only overload. With an optional length
    // it bound to the indexed overload and cut each address to its index's length (the first to nothing).
    private static string Cut(string? text) => CutTo(text, MaxText);

    private static string CutTo(string? text, int max) => text is null ? "" : text.Length <= max ? text : text[..max];

    /// <summary>The agent writes MACs as Hyper-V prints them in a guest (0A-48-...); the host keeps 12 hex digits.</summary>
    private static string HostMac(string mac) => mac.Replace("-", "", StringComparison.Ordinal).Replace(":", "", StringComparison.Ordinal).ToUpperInvariant();

    private static string Name(HeartbeatStatus status) => status switch
    {
        HeartbeatStatus.Ok => GuestIntegrationStatus.Ok,
        HeartbeatStatus.LostCommunication => GuestIntegrationStatus.LostCommunication,
        _ => GuestIntegrationStatus.NoContact,
    };

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _host.DisposeAsync().ConfigureAwait(false);
        try { await _watching.ConfigureAwait(false); } catch (OperationCanceledException) { }
    }
}
