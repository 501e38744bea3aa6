using System.Text.Json;

namespace HyperSharp.Machine.State;

/// <summary>
/// The machine's stateful devices, each under a stable id ("com1", "rtc", "pci/03"...): how to save
/// its versioned record and how to apply one to a freshly built device. The VM's saved state is
/// the set of these records; a device without an entry here cannot be part of a saved VM. Hotplug
/// adds and removes entries while the VM runs, hence the lock.
/// </summary>
public sealed class DeviceStateRegistry
{
    private readonly List<(string Id, Func<object> Save, Action<JsonElement> Restore, bool Optional)> _devices = [];
    private readonly object _lock = new();

    /// <param name="optional">a device added after the saved-state format first shipped: a file without its record
    /// leaves it in its fresh state instead of being refused</param>
    public void Add<TState>(string id, Func<TState> save, Action<TState> restore, bool optional = false) where TState : class
    {
        lock (_lock)
        {
            if (_devices.Exists(d => d.Id == id)) throw new InvalidOperationException($"device state id {id} is already registered");
            _devices.Add((id, () => save(), json => restore(json.Deserialize<TState>() ?? throw new InvalidDataException($"saved state of {id} is empty")), optional));
        }
    }

    /// <summary>Drops a device that left the machine (hot-unplug).</summary>
    public void Remove(string id)
    {
        lock (_lock) _devices.RemoveAll(d => d.Id == id);
    }

    public Dictionary<string, JsonElement> SaveAll()
    {
        lock (_lock) return _devices.ToDictionary(d => d.Id, d => { var state = d.Save(); return JsonSerializer.SerializeToElement(state, state.GetType()); });
    }

    public void RestoreAll(IReadOnlyDictionary<string, JsonElement> states)
    {
        lock (_lock)
        {
            foreach (var (id, _, restore, optional) in _devices)
            {
                if (states.TryGetValue(id, out var json)) restore(json);
                else if (!optional) throw new InvalidDataException($"the saved state has no record for device {id}; was it saved with another configuration?");
            }
        }
    }
}
