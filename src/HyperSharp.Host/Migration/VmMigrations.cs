using HyperSharp.Api.V1;
using System.Text.Json;
using HyperSharp.Host.Platform;
using HyperSharp.Api.Tls;
using HyperSharp.Host.Service;
using HyperSharp.Inventory;
using HyperSharp.Inventory.Workers;
using HyperSharp.Host.Workers;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Migration;

/// <summary>What a finished move did: the VM as the destination runs it, and the engine's figures.</summary>
public sealed record MoveOutcome(Vm Arrived, double TotalMs, double DowntimeMs, string Summary);

/// <summary>
/// Live migration between hosts with shared storage (Move-VM, Compare-VM): the VM's files stay where they are, its running state
/// goes worker to worker (see the worker's MigrationLink) and its configuration host to host. The source host asks the destination
/// to prepare (its checks; the VM registered, a worker listening), tells its own worker to migrate, and forgets the VM only after
/// the destination owns it (the engine's Owned) and runs it (Finish). A failure before the handover leaves the VM running here
/// and the destination's registration gone with its worker.
/// </summary>
public sealed class VmMigrations
{
    private static readonly TimeSpan WorkerEndTimeout = TimeSpan.FromSeconds(60);
    private readonly VmManager _manager;
    private readonly HostServerOptions _options;
    private readonly MigrationQueue _queue;

    public VmMigrations(VmManager manager, HostServerOptions options)
    {
        _manager = manager;
        _options = options;
        _queue = new MigrationQueue(() => manager.HostSettings.Current.Migration.MaximumMigrations);
    }

    private VmLifecycle Lifecycle => _manager.Lifecycle;

    public MigrationQueue Queue => _queue;

    /// <summary>Move-VM: the running VM goes to <paramref name="destination"/>; returns once it runs there and this host has forgotten it.</summary>
    /// <param name="sharedFolder">a clustered VM: its folder stays where it is on shared storage, the destination lists it from there and this host only drops its link</param>
    public async Task<MoveOutcome> MoveAsync(ManagedVm vm, string destination, CancellationToken cancel, bool sharedFolder = false)
    {
        var trust = Trust();
        if (SourceProblems(vm).FirstOrDefault() is { } problem) throw HostErrors.Precondition($"cannot move VM '{vm.Name}': {problem}");
        using var peer = new PeerHost(destination, trust);
        using var turn = await _queue.EnterAsync(cancel).ConfigureAwait(false); // beyond -MaximumVirtualMachineMigrations: wait here
        using var _ = Lifecycle.Begin(vm, "moving");
        if (vm.State != PowerState.Running) throw HostErrors.WrongState(vm.Name, vm.State, "move (only a running VM moves live)");
        vm.SetStatus(MigrationReports.MigratingStatus(0));
        bool handedOver = false;
        try
        {
            var (port, _) = await peer.PrepareAsync(vm.Config, dryRun: false, cancel, sharedFolder ? vm.Folder.Location : null).ConfigureAwait(false);
            WorkerResponse answer;
            try
            {
                answer = await Lifecycle.Workers.SendAsync(vm, new WorkerRequest
                {
                    Op = WorkerOps.Migrate, MigrateHost = peer.Address.IdnHost, MigratePort = port, TlsDirectory = trust.Directory,
                    Compress = _manager.HostSettings.Current.Migration.Performance == MigrationPerformance.Compression,
                }, CancellationToken.None).ConfigureAwait(false); // past the prepare, only the engine decides: a client that goes away does not cut it
            }
            catch (WorkerException e) { throw NotMoved(vm, destination, e.Message); }
            handedOver = true;
            if (answer.MigrationInDoubt)
            {
                Lifecycle.SetState(vm, PowerState.Paused, "live migration in doubt");
                vm.SetStatus($"Migration in doubt: {answer.Error}");
                throw HostErrors.Precondition($"VM '{vm.Name}': {answer.Error}");
            }
            // The destination owns the VM (its Owned): this worker has stopped its copy and ends, and the VM is not this host's
            // any more whatever follows — a destination that does not confirm it runs the VM is the destination's to look at.
            Vm? arrived = null;
            string? unconfirmed = null;
            try
            {
                await vm.WorkerExited.WaitAsync(WorkerEndTimeout, CancellationToken.None).ConfigureAwait(false);
                arrived = await peer.FinishAsync(vm.Id, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HostException or TimeoutException) { unconfirmed = e.Message; }
            Forget(vm, $"VM '{vm.Name}' moved to {destination}", sharedFolder);
            _options.Log($"VM '{vm.Name}' moved to {destination}: {answer.MigrationSummary}{(unconfirmed is null ? "" : $"; the destination did not confirm that it runs it: {unconfirmed}")}");
            if (arrived is null)
                throw HostErrors.Precondition($"VM '{vm.Name}' was handed over to {destination}, which owns it now, but did not confirm that it runs it ({unconfirmed}): look at that host");
            return new MoveOutcome(arrived, answer.MigrationTotalMs, answer.MigrationDowntimeMs, answer.MigrationSummary ?? "");
        }
        catch (HostException e) when (!handedOver && !e.Message.Contains("it runs on here", StringComparison.Ordinal))
        {
            throw NotMoved(vm, destination, e.Message);
        }
        finally
        {
            if (!handedOver) vm.SetStatus(ManagedVm.NormalStatus);
        }
    }

    /// <summary>A move that failed before the handover: the VM never left, and the message says so.</summary>
    private static HostException NotMoved(ManagedVm vm, string destination, string why) =>
        HostErrors.Precondition($"VM '{vm.Name}' did not move to {destination}; it runs on here: {why}");

    /// <summary>Compare-VM -DestinationHost: what would stop the move, on this host and on the destination; empty when it would be tried.</summary>
    public async Task<List<string>> CompareAsync(ManagedVm vm, string destination, CancellationToken cancel)
    {
        var problems = SourceProblems(vm);
        if (_options.TlsDirectory is null) { problems.Add(NoTrust); return problems; }
        using var peer = new PeerHost(destination, new TlsFiles(_options.TlsDirectory));
        try { problems.AddRange((await peer.PrepareAsync(vm.Config, dryRun: true, cancel).ConfigureAwait(false)).Problems); }
        catch (HostException e) { problems.Add(e.Message); }
        return problems;
    }

    /// <summary>
    /// The destination's side of a move: its checks, then the VM registered (Starting, "Migrating - arriving") and its worker
    /// launched listening for the source; returns the port. A dry run only lists what would fail.
    /// </summary>
    /// <param name="sharedFolder">a clustered VM's folder on shared storage: listed here from there (see <see cref="MoveAsync"/>)</param>
    public async Task<(int Port, List<string> Problems)> PrepareAsync(string configurationJson, string source, bool dryRun, string? sharedFolder = null)
    {
        VmConfiguration config;
        try
        {
            config = (VmConfiguration?)JsonSerializer.Deserialize(configurationJson, typeof(VmConfiguration), InventoryJson.Default)
                ?? throw new JsonException("no configuration");
        }
        catch (JsonException e) { throw HostErrors.Invalid("configuration_json", $"the VM's configuration cannot be read: {e.Message}"); }
        var problems = DestinationProblems(config);
        if (dryRun) return (0, problems);
        if (problems.Count > 0) throw HostErrors.Precondition($"host {Environment.MachineName} cannot take VM '{config.Name}': {string.Join("; ", problems)}");

        var listen = _options.TlsListen!.Address.ToString();
        var folder = sharedFolder is null ? _manager.Inventory.Create(config, parent: null) : LinkShared(sharedFolder, config);
        var vm = new ManagedVm(folder, config, new VmRuntimeRecord())
        {
            Incoming = new IncomingWorker(new IncomingMigration(listen, _options.TlsDirectory!), source),
        };
        vm.SetStatus($"Migrating - arriving from {source}");
        _manager.Register(vm);
        Lifecycle.Publish(vm, VmChangeKind.Created, $"VM '{vm.Name}' arriving from {source} by live migration");
        var incoming = vm.Incoming;
        incoming.Arrival = ArriveAsync(vm, incoming, Lifecycle.StartAsync(vm, CancellationToken.None), shared: sharedFolder is not null);
        // Ended before it listened: the arrival throws why (the listening task, failed as the arrival ends, may come first).
        if (await Task.WhenAny(incoming.Listening.Task, incoming.Arrival).ConfigureAwait(false) != incoming.Listening.Task || incoming.Listening.Task.IsFaulted)
            await incoming.Arrival.ConfigureAwait(false);
        return (await incoming.Listening.Task.ConfigureAwait(false), []);
    }

    /// <summary>The destination waits until the VM it took runs (the source calls this after its worker handed the VM over).</summary>
    public async Task<ManagedVm> FinishAsync(ManagedVm vm)
    {
        if (vm.Incoming is { } incoming) await incoming.Arrival.WaitAsync(WorkerEndTimeout).ConfigureAwait(false);
        return vm;
    }

    /// <summary>The arriving VM's start: once it runs it is this host's like any other; a start that failed leaves no trace of it here.</summary>
    private async Task ArriveAsync(ManagedVm vm, IncomingWorker incoming, Task start, bool shared)
    {
        try { await start.ConfigureAwait(false); }
        catch (HostException e)
        {
            Forget(vm, $"VM '{vm.Name}' did not arrive from {incoming.Source}: {e.Message}", shared);
            throw HostErrors.Precondition($"VM '{vm.Name}' did not arrive from {incoming.Source}: {e.Message}");
        }
        finally { incoming.Listening.TrySetException(new InvalidOperationException("the arriving VM's worker ended")); }
        vm.Incoming = null;
    }

    private const string NoTrust = "this host has no trust files (start `hyper host` with --tls-dir and --tls-listen): live migration goes over mutual TLS";

    private TlsFiles Trust() => _options.TlsDirectory is { } dir ? new TlsFiles(dir) : throw HostErrors.Precondition(NoTrust);

    private List<string> SourceProblems(ManagedVm vm)
    {
        var problems = new List<string>();
        if (!_manager.HostSettings.Current.Migration.Enabled) problems.Add($"live migration is disabled on this host ({Environment.MachineName}): enable it with Enable-VMMigration");
        if (vm.State != PowerState.Running) problems.Add($"VM '{vm.Name}' is {StateNames.Of(vm.State)}: only a running VM moves live");
        return problems;
    }

    private List<string> DestinationProblems(VmConfiguration config)
    {
        var problems = new List<string>();
        string here = Environment.MachineName;
        if (!_manager.HostSettings.Current.Migration.Enabled) problems.Add($"live migration is disabled on the destination host ({here}): enable it there with Enable-VMMigration");
        if (_options.TlsListen is null || _options.TlsDirectory is null) problems.Add($"the destination host ({here}) serves no mutual TLS (--tls-listen, --tls-dir): it cannot take VMs");
        foreach (var other in _manager.List(null))
        {
            if (other.Id == config.Id) problems.Add($"the destination host already has VM {config.Id} ('{other.Name}')");
            else if (string.Equals(other.Name, config.Name, StringComparison.OrdinalIgnoreCase)) problems.Add($"the destination host already has a VM named '{config.Name}'");
        }
        string?[] files = [config.Boot.KernelPath, config.Boot.InitrdPath, .. config.Disks.Select(d => d.Path)];
        foreach (var file in files)
            if (!string.IsNullOrEmpty(file) && !File.Exists(file))
                problems.Add($"{file} is not reachable on the destination host: with shared storage the VM's files must have the same paths on both hosts");
        // Writable disks need nothing more: the source's worker closes them in the pause and the destination's opens them then
        // (the engine's disk handover, with each image's exclusive lock as the fence).
        long available = HostMemory.AvailableBytes();
        if (available > 0 && config.Memory.StartupBytes > available)
            problems.Add($"the VM needs {config.Memory.StartupBytes >> 20} MiB; the destination host has {available >> 20} MiB available");
        return problems;
    }

    /// <summary>
    /// A clustered VM's folder on shared storage, listed here by a link as a failover does; it must hold the VM that arrives.
    /// </summary>
    private VmFolder LinkShared(string folder, VmConfiguration config)
    {
        var entry = _manager.Inventory.Link(folder, config.Id);
        if (entry.Damage is { } damage || entry.Configuration?.Id != config.Id)
        {
            _manager.Inventory.Unlink(entry.Folder);
            throw HostErrors.Precondition($"the shared folder {folder} does not hold VM {config.Id} ('{config.Name}') as this host reads it: {entry.Damage ?? "another VM's configuration"}");
        }
        return entry.Folder;
    }

    /// <summary>
    /// The VM is not this host's any more (moved away, or never arrived): out of the list, its folder gone, its files kept.
    /// A shared folder (a clustered VM's) stays whole: only this host's link to it goes.
    /// </summary>
    private void Forget(ManagedVm vm, string message, bool shared)
    {
        vm.MarkRemoved();
        _manager.Unregister(vm);
        if (shared) _manager.Inventory.Unlink(vm.Folder);
        else _manager.Inventory.Remove(vm.Folder);
        _manager.Networking.ReleaseMacs(vm);
        Lifecycle.Publish(vm, VmChangeKind.Removed, message);
    }
}
