using System.Text.Json;
using HyperSharp.Hypervisor.State;

namespace HyperSharp.Machine.State;

/// <summary>
/// The machine's stateful devices, each under a stable id ("com1", "rtc", "pci/03"...): how to save
/// its versioned record and how to apply one to a freshly built device. The VM's saved state is
/// the set of these records; a device without an entry here cannot be part of a saved VM. Hotplug
/// adds and removes entries while the VM runs, hence the lock.
/// </summary>
public sealed class DeviceStateRegistry
{
    private sealed record Entry(string Id, Func<SavedRecord> Save, Action<SavedRecord> Restore, bool Optional);

    private readonly List<Entry> _devices = [];
    private readonly object _lock = new();

    /// <param name="optional">a device added after the saved-state format first shipped: a file without its record
    /// leaves it in its fresh state instead of being refused</param>
    public void Add<TState>(string id, Func<TState> save, Action<TState> restore, bool optional = false) where TState : class, IStateRecord<TState>
    {
        lock (_lock)
        {
            if (_devices.Exists(d => d.Id == id)) throw new InvalidOperationException($"device state id {id} is already registered");
            _devices.Add(new Entry(id, () => SavedRecord.Of(save()), record => restore(Decode<TState>(id, record)), optional));
        }
    }

    /// <summary>Drops a device that left the machine (hot-unplug).</summary>
    public void Remove(string id)
    {
        lock (_lock) _devices.RemoveAll(d => d.Id == id);
    }

    /// <summary>Every device's record, in the order the devices were added.</summary>
    public List<(string Id, SavedRecord Record)> SaveAll()
    {
        lock (_lock) return _devices.ConvertAll(d => (d.Id, d.Save()));
    }

    /// <summary>
    /// Applies each device's record. A missing record of a device that is not optional, a damaged record or one
    /// newer than this build throws (<see cref="StateRecordException"/> names the record).
    /// </summary>
    public void RestoreAll(IReadOnlyDictionary<string, SavedRecord> records)
    {
        lock (_lock)
        {
            foreach (var device in _devices)
            {
                if (records.TryGetValue(device.Id, out var record)) device.Restore(record);
                else if (!device.Optional) throw new StateRecordException(RecordName(device.Id), 0, "the saved state has no record for this device; was it saved with another configuration?");
            }
        }
    }

    /// <summary>How errors name a device's record.</summary>
    public static string RecordName(string id) => $"device {id}";

    /// <summary>Version 1 of every device record was JSON of the record's properties (saved-state files of format 1); later versions are binary.</summary>
    private static TState Decode<TState>(string id, SavedRecord record) where TState : class, IStateRecord<TState>
    {
        string name = RecordName(id);
        if (record.Version != 1) return record.Read<TState>(name);
        try { return JsonSerializer.Deserialize<TState>(record.Data) ?? throw new StateRecordException(name, 0, "the record is empty"); }
        catch (JsonException e) { throw new StateRecordException(name, (int)(e.BytePositionInLine ?? 0), $"the version 1 (JSON) record is damaged: {e.Message}"); }
    }
}
