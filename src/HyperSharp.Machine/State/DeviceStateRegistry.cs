using System.Text.Json;

namespace HyperSharp.Machine.State;

/// <summary>
/// The machine's stateful devices, each under a stable id ("com1", "rtc", "pci/03"...): how to save
/// its versioned record and how to apply one to a freshly built device. The VM's saved state is
/// the set of these records; a device without an entry here cannot be part of a saved VM.
/// </summary>
public sealed class DeviceStateRegistry
{
    private readonly List<(string Id, Func<object> Save, Action<JsonElement> Restore)> _devices = [];

    public void Add<TState>(string id, Func<TState> save, Action<TState> restore) where TState : class =>
        _devices.Add((id, () => save(), json => restore(json.Deserialize<TState>() ?? throw new InvalidDataException($"saved state of {id} is empty"))));

    public Dictionary<string, JsonElement> SaveAll() =>
        _devices.ToDictionary(d => d.Id, d => JsonSerializer.SerializeToElement(d.Save(), d.Save().GetType()));

    public void RestoreAll(IReadOnlyDictionary<string, JsonElement> states)
    {
        foreach (var (id, _, restore) in _devices)
        {
            if (!states.TryGetValue(id, out var json)) throw new InvalidDataException($"the saved state has no record for device {id}; was it saved with another configuration?");
            restore(json);
        }
    }
}
