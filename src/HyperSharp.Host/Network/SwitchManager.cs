using HyperSharp.Api.V1;
using HyperSharp.Host.Service;
using HyperSharp.Networking.Configuration;
using HyperSharp.Networking.Frames;
using HyperSharp.Networking.Links;
using HyperSharp.Networking.Switching;
using HyperSharp.Inventory;

namespace HyperSharp.Host.Network;

/// <summary>
/// The host's virtual switches (Hyper-V's VMSwitch objects): read from ROOT/network.json when the host starts, each
/// running with its TAP (Internal) or uplink (External) while it exists, and written back atomically on every change.
/// VM adapters get ports here: the host keeps the switch's end of a seqpacket pair and the worker gets the other.
/// </summary>
public sealed class SwitchManager : IDisposable
{
    public const string ConfigFileName = "network.json";
    private readonly object _lock = new();
    private readonly NetworkConfigStore _store;
    private readonly Action<string> _log;
    private readonly List<HostSwitch> _switches = [];
    private readonly Dictionary<Guid, (HostSwitch Switch, SwitchPort Port)> _ports = [];
    private NetworkConfiguration _config = new();

    /// <summary>The network configuration file (ROOT/network.json).</summary>
    public string ConfigPath => _store.Path;

    public SwitchManager(string inventoryRoot, Action<string> log)
    {
        _store = new NetworkConfigStore(Path.Combine(inventoryRoot, ConfigFileName));
        _log = log;
    }

    /// <summary>Reads the configuration and starts every switch; one that cannot start is kept (and listed) with the reason.</summary>
    public void Load()
    {
        _config = _store.Load();
        foreach (var config in _config.Switches)
        {
            try { _switches.Add(new HostSwitch(config, HostedSwitch.Start(config), null)); }
            catch (Exception e) when (e is NetworkSetupException or ArgumentException or IOException)
            {
                _log($"switch '{config.Name}' did not start: {e.Message}");
                _switches.Add(new HostSwitch(config, null, e.Message));
            }
        }
    }

    /// <summary>A pool for dynamic MAC addresses over this host's range, with <paramref name="inUse"/> already taken.</summary>
    public MacAddressPool CreatePool(IEnumerable<MacAddress> inUse) => new(_config.MacAddressMinimum, _config.MacAddressMaximum, inUse);

    public List<HostSwitch> List()
    {
        lock (_lock) return [.. _switches.OrderBy(s => s.Name, StringComparer.OrdinalIgnoreCase)];
    }

    public HostSwitch? FindById(Guid id)
    {
        lock (_lock) return _switches.Find(s => s.Id == id);
    }

    /// <summary>The switch a reference names, or INVALID_ARGUMENT / NOT_FOUND naming <paramref name="parameter"/>.</summary>
    public HostSwitch Find(SwitchRef? reference, string parameter = "switch")
    {
        if (reference is null || (reference.Id.Length == 0 && reference.Name.Length == 0)) throw HostErrors.Invalid(parameter, "name the switch by id or name");
        if (reference.Id.Length > 0)
        {
            if (!Guid.TryParse(reference.Id, out var id)) throw HostErrors.Invalid(parameter + ".id", $"'{reference.Id}' is not a GUID");
            return FindById(id) ?? throw HostErrors.NotFound($"no switch with id {reference.Id} on this host");
        }
        return FindByName(reference.Name) ?? throw HostErrors.NotFound($"no switch named '{reference.Name}' on this host");
    }

    public HostSwitch? FindByName(string name)
    {
        lock (_lock) return _switches.Find(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Starts the switch (with its TAP or uplink) and records it; if either fails, nothing is left behind.</summary>
    public HostSwitch Create(SwitchConfiguration config)
    {
        lock (_lock)
        {
            EnsureNameFree(config.Name, null);
            if (config.HostInterfaceName is { } tap && _switches.Find(s => s.Config.HostInterfaceName == tap) is { } owner)
                throw HostErrors.AlreadyExists($"switch '{owner.Name}' already owns host interface {tap}");
            VirtualSwitch running;
            try { running = HostedSwitch.Start(config); }
            catch (Exception e) when (e is NetworkSetupException or IOException)
            {
                throw HostErrors.Precondition($"cannot create switch '{config.Name}': {e.Message}");
            }
            var created = new HostSwitch(config, running, null);
            try { Save([.. _switches.Select(s => s.Config), config]); }
            catch
            {
                running.Dispose();
                throw;
            }
            _switches.Add(created);
            return created;
        }
    }

    /// <summary>Set-VMSwitch / Rename-VMSwitch: the configuration changes, the running switch (and its TAP name) stays.</summary>
    public HostSwitch Update(HostSwitch target, string? newName, string? notes)
    {
        lock (_lock)
        {
            var config = target.Config;
            if (newName is not null)
            {
                EnsureNameFree(newName, target);
                config = config with { Name = newName };
            }
            if (notes is not null) config = config with { Notes = notes };
            Save([.. _switches.Select(s => s == target ? config : s.Config)]);
            target.Config = config;
            return target;
        }
    }

    /// <summary>Stops the switch (its TAP or uplink goes with it) and forgets it; the adapters' ports on it are closed.</summary>
    public void Remove(HostSwitch target)
    {
        lock (_lock)
        {
            if (!_switches.Contains(target)) throw HostErrors.NotFound($"switch '{target.Name}' was just removed");
            Save([.. _switches.Where(s => s != target).Select(s => s.Config)]);
            _switches.Remove(target);
            foreach (var adapter in _ports.Where(p => p.Value.Switch == target).Select(p => p.Key).ToList()) _ports.Remove(adapter);
        }
        target.Running?.Dispose();
    }

    /// <summary>
    /// Gives adapter <paramref name="adapterId"/> a port on the switch with <paramref name="settings"/> (moving it off any
    /// port it had) and returns the other end of the port's seqpacket pair, for the worker: pass its descriptor, then dispose it.
    /// </summary>
    public FileDescriptorLink Attach(Guid adapterId, HostSwitch target, PortSettings settings)
    {
        Detach(adapterId);
        var running = target.Running ?? throw HostErrors.Precondition($"switch '{target.Name}' is not running: {target.Failure}");
        var (switchEnd, workerEnd) = SeqpacketLink.CreatePair("adapter " + adapterId.ToString("N")[..8]);
        try
        {
            var port = running.AddPort(adapterId.ToString("N"), switchEnd, settings);
            lock (_lock) _ports[adapterId] = (target, port);
            return workerEnd;
        }
        catch
        {
            switchEnd.Dispose();
            workerEnd.Dispose();
            throw;
        }
    }

    /// <summary>Closes the adapter's port, if it has one (the worker's end sees the other side go).</summary>
    public void Detach(Guid adapterId)
    {
        (HostSwitch Switch, SwitchPort Port) entry;
        lock (_lock)
            if (!_ports.Remove(adapterId, out entry)) return;
        entry.Switch.RemovePort(entry.Port);
    }

    public bool IsAttached(Guid adapterId)
    {
        lock (_lock) return _ports.ContainsKey(adapterId);
    }

    /// <summary>New policies for the adapter's live port, at once; false when it has none.</summary>
    public bool UpdatePort(Guid adapterId, PortSettings settings)
    {
        SwitchPort port;
        lock (_lock)
        {
            if (!_ports.TryGetValue(adapterId, out var entry)) return false;
            port = entry.Port;
        }
        port.Settings = settings;
        return true;
    }

    /// <summary>The live port of an adapter (tests look at its counters), or null.</summary>
    public SwitchPort? PortOf(Guid adapterId)
    {
        lock (_lock) return _ports.TryGetValue(adapterId, out var entry) ? entry.Port : null;
    }

    private void EnsureNameFree(string name, HostSwitch? renamed)
    {
        foreach (var other in _switches)
            if (other != renamed && string.Equals(other.Name, name, StringComparison.OrdinalIgnoreCase))
                throw HostErrors.AlreadyExists($"a switch named '{other.Name}' already exists (id {other.Id})");
    }

    private void Save(SwitchConfiguration[] switches)
    {
        var next = _config with { Switches = switches };
        try
        {
            _store.Save(next);
            Inventory.InventoryPermissions.Current.SecureFile(_store.Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw HostErrors.Internal($"cannot write the network configuration {_store.Path}: {e.Message}");
        }
        _config = next;
    }

    /// <summary>The host stops: every switch stops, and with it its TAP or uplink. Workers keep their ends until a new host reconnects them.</summary>
    public void Dispose()
    {
        List<HostSwitch> all;
        lock (_lock)
        {
            all = [.. _switches];
            _switches.Clear();
            _ports.Clear();
        }
        foreach (var s in all) s.Running?.Dispose();
    }
}
