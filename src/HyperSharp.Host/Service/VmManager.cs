using HyperSharp.Host.Access;
using HyperSharp.Inventory;
using HyperSharp.Host.Platform;
using HyperSharp.Inventory.Platform;
using HyperSharp.Host.Storage;
using HyperSharp.Inventory.Storage;
using HyperSharp.Host.Workers;
using HyperSharp.Inventory.Workers;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Service;

/// <summary>
/// The host's VMs: the inventory on disk, one <see cref="ManagedVm"/> each in memory, and the event feed, with the
/// parts that act on them — <see cref="Lifecycle"/> (power states, over the <see cref="WorkerSupervisor"/>),
/// <see cref="Configuration"/> (the configuration store) and <see cref="Networking"/> (adapters and switch ports).
/// </summary>
public sealed class VmManager : IDisposable
{
    private readonly object _lock = new();
    private readonly Dictionary<Guid, ManagedVm> _vms = [];
    private readonly VmInventory _inventory;
    private readonly WorkerCgroup _cgroup;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _stopping = new();

    /// <param name="access">what clients may name (<see cref="PathAccess"/>); null: local clients checked with their own rights, remote clients no path at all</param>
    /// <param name="activationKeyFile">the host's activation key (<see cref="HostServerOptions.ActivationKeyFile"/>)</param>
    /// <param name="agentUpdateFolder">the newer guest agent workers offer (<see cref="HostServerOptions.AgentUpdateFolder"/>)</param>
    public VmManager(string inventoryRoot, IReadOnlyList<string> workerCommand, Action<string> log, PathAccess? access = null, string? agentUpdateFolder = null,
        string? activationKeyFile = null)
    {
        _inventory = new VmInventory(inventoryRoot, log: log);
        HostSettings = new Migration.HostSettingsStore(_inventory.Root);
        _log = log;
        _cgroup = new WorkerCgroup(log);
        Switches = new Network.SwitchManager(_inventory.Root, log);
        var workers = new WorkerSupervisor(new WorkerLauncher(workerCommand, _inventory.Permissions), _cgroup, Switches, log, _stopping.Token) { AgentUpdateFolder = agentUpdateFolder, ActivationKeyFile = activationKeyFile };
        Lifecycle = new VmLifecycle(workers, Events, log, $"{Environment.MachineName}:{_inventory.Root}");
        _automatic = new AutomaticActions(Lifecycle, log);
        access ??= new PathAccess([]);
        Configuration = new VmConfigurationStore(this, _inventory, access, _cgroup, Lifecycle);
        Integration = new VmIntegration(Configuration, Lifecycle, access, log);
        Memory = new Memory.VmMemoryChanges(Configuration, Lifecycle);
        Networking = new VmNetworking(this, Switches, Configuration, Lifecycle, log);
        Checkpoints = new HyperSharp.Host.Checkpoints.VmCheckpoints(Configuration, Lifecycle, log);
        Exporter = new Exports.VmExporter(Lifecycle, access, log);
        Importer = new Exports.VmImporter(this, Lifecycle, Networking, Switches, access, log);
    }

    /// <summary>Export-VM and Export-VMSnapshot.</summary>
    public Exports.VmExporter Exporter { get; }

    /// <summary>Import-VM and Compare-VM -Path.</summary>
    public Exports.VmImporter Importer { get; }

    /// <summary>Checkpoint-VM and the checkpoint tree (Get-, Restore-, Remove-, Rename-VMSnapshot).</summary>
    public HyperSharp.Host.Checkpoints.VmCheckpoints Checkpoints { get; }

    /// <summary>New-, Set-, Remove-VM, processors, memory and drives.</summary>
    public VmConfigurationStore Configuration { get; }

    /// <summary>Set-VMMemory: stored settings, and a running VM's resize.</summary>
    public Memory.VmMemoryChanges Memory { get; }

    /// <summary>Network adapters and the switch calls that touch VMs.</summary>
    public VmNetworking Networking { get; }

    public Network.SwitchManager Switches { get; }

    /// <summary>Integration services: their settings and Copy-VMFile.</summary>
    public VmIntegration Integration { get; }
    /// <summary>The host's own settings (Set-VMHost), kept in ROOT/host.json.</summary>
    public Migration.HostSettingsStore HostSettings { get; }

    /// <summary>The power states of the VMs: Start-, Stop-, Save-, Suspend-, Resume-, Restart-VM.</summary>
    public VmLifecycle Lifecycle { get; }

    private readonly AutomaticActions _automatic;

    /// <summary>When the host starts: each VM whose automatic start action says so starts after its delay.</summary>
    public void StartAutomatically() => _automatic.Start(List(null), _stopping.Token);

    /// <summary>When the host stops: each running VM gets its automatic stop action, all at once.</summary>
    public Task StopAutomaticallyAsync() => _automatic.StopAsync(List(null));

    /// <summary>Starts Dynamic Memory's balancer; it runs until the host stops.</summary>
    public void StartBalancing(Memory.MemoryBalancerOptions options) =>
        _ = new Memory.MemoryBalancer(() => List(null), Lifecycle.Workers, options, _log).RunAsync(_stopping.Token);

    public EventFeed Events { get; } = new();
    public string InventoryRoot => _inventory.Root;
    public string VirtualHardDiskPath => Path.Combine(_inventory.Root, "vhds");

    /// <summary>
    /// Starts the switches, reads the inventory and finds the workers that kept running while no host was there; their
    /// adapters get new switch ports (the old ones went with the last host).
    /// </summary>
    public void Recover()
    {
        Switches.Load();
        foreach (var file in new[] { Switches.ConfigPath, Path.Combine(_inventory.Root, ".host.lock") })
            if (File.Exists(file)) _inventory.Permissions.SecureFile(file);
        var workers = ProcessProbe.FindWorkers();
        foreach (var entry in _inventory.Load(_log))
        {
            if (entry.Damage is { } damage)
            {
                // Listed, never started: Off, with the damage as its status, until it is repaired (and the host restarted) or removed.
                var broken = new ManagedVm(entry.Folder, entry.Configuration ?? new VmConfiguration { Id = entry.Id, Name = entry.Id.ToString("D") }, entry.Runtime) { Damage = damage };
                broken.Found(PowerState.Off, $"Damaged: {damage}");
                lock (_lock) _vms[broken.Id] = broken;
                if (workers.TryGetValue(entry.Folder.Path, out int orphan))
                    _log($"a worker (PID {orphan}) still runs the VM in the damaged folder {entry.Folder.Path}; it is left alone");
                continue;
            }
            var vm = new ManagedVm(entry.Folder, entry.Configuration!, entry.Runtime);
            lock (_lock) _vms[vm.Id] = vm;
            if (workers.TryGetValue(entry.Folder.Path, out int pid))
            {
                _log($"VM '{vm.Name}': its worker (PID {pid}) is still running; taking it back");
                Lifecycle.Adopt(vm, pid, _stopping.Token);
            }
            else if (entry.Runtime.State == RecordedState.Running && entry.Runtime.Host is { } owner && owner != Lifecycle.HostName)
            {
                // Shared storage: another host started it after this one (a cluster failover) and may run it now; the
                // record is that host's to write. Here it is Off.
                vm.Found(PowerState.Off);
                _log($"VM '{vm.Name}' was last started by {owner}: Off here, its runtime record left as that host wrote it");
            }
            else if (File.Exists(entry.Folder.ExitFile) || entry.Runtime.State == RecordedState.Running)
            {
                // The worker ended while no host watched: record how, as if we had seen it go.
                vm.WorkerStarted(-1, PowerState.Running);
                Lifecycle.WorkerEnded(vm, -1, reported: null);
                _cgroup.Remove(vm.Id);
            }
            // Saved as recorded, even when the file has gone since: starting it then fails naming the file, and Stop-VM discards it.
            else vm.Found(entry.Runtime.State == RecordedState.Saved || Path.Exists(entry.Folder.SavedStateFile) ? PowerState.Saved : PowerState.Off);
        }
        Networking.CreateMacPool();
    }

    /// <summary>The VM named by <paramref name="id"/> (a GUID, when given) or else by <paramref name="name"/>; a not-found error when there is none.</summary>
    public ManagedVm Find(string? id, string? name)
    {
        if (string.IsNullOrEmpty(id) && string.IsNullOrEmpty(name)) throw HostErrors.Invalid("vm", "name the VM by id or name");
        lock (_lock)
        {
            if (!string.IsNullOrEmpty(id))
            {
                if (!Guid.TryParse(id, out var guid)) throw HostErrors.Invalid("vm.id", $"'{DisplayText.Escape(id)}' is not a GUID");
                return _vms.TryGetValue(guid, out var byId) ? byId : throw HostErrors.NotFound($"no VM with id {id} on this host");
            }
            foreach (var vm in _vms.Values)
                if (string.Equals(vm.Name, name, StringComparison.OrdinalIgnoreCase)) return vm;
        }
        throw HostErrors.NotFound($"no VM named '{DisplayText.Escape(name!)}' on this host");
    }

    /// <summary>Every VM whose name matches a Hyper-V style wildcard filter (* and ?), by name.</summary>
    public List<ManagedVm> List(string? filter)
    {
        List<ManagedVm> all;
        lock (_lock) all = [.. _vms.Values];
        if (!string.IsNullOrEmpty(filter)) all = all.Where(vm => Wildcard.Matches(filter, vm.Name)).ToList();
        all.Sort((a, b) => string.Compare(a.Name, b.Name, StringComparison.OrdinalIgnoreCase));
        return all;
    }

    internal VmInventory Inventory => _inventory;

    /// <summary>A VM made or found: from now on it is listed and found.</summary>
    internal void Register(ManagedVm vm)
    {
        lock (_lock) _vms[vm.Id] = vm;
    }

    internal void Unregister(ManagedVm vm)
    {
        lock (_lock) _vms.Remove(vm.Id);
    }

    public void Dispose()
    {
        // Workers keep running: a host that stops (or restarts) does not take its VMs down.
        _stopping.Cancel();
        _stopping.Dispose();
        Switches.Dispose();
    }
}

/// <summary>Hyper-V's name filters: * any run of characters, ? one character, case-insensitive.</summary>
internal static class Wildcard
{
    public static bool Matches(string pattern, string name) => Match(pattern.AsSpan(), name.AsSpan());

    private static bool Match(ReadOnlySpan<char> p, ReadOnlySpan<char> s)
    {
        if (p.IsEmpty) return s.IsEmpty;
        if (p[0] == '*') return Match(p[1..], s) || (!s.IsEmpty && Match(p, s[1..]));
        return !s.IsEmpty && (p[0] == '?' || char.ToUpperInvariant(p[0]) == char.ToUpperInvariant(s[0])) && Match(p[1..], s[1..]);
    }
}
