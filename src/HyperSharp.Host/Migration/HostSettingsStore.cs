using System.Text.Json;
using System.Text.Json.Serialization;
using HyperSharp.Inventory;

namespace HyperSharp.Host.Migration;

/// <summary>The host's own settings (ROOT/host.json), kept across restarts; today its live-migration settings.</summary>
public sealed record HostSettings
{
    public MigrationSettings Migration { get; init; } = new();
}

/// <summary>
/// Reads and replaces ROOT/host.json. A change is written (atomically) before it takes effect, so a host that restarts
/// has what the administrator was last told; a file that cannot be read stops the host with its path and the problem.
/// </summary>
public sealed class HostSettingsStore
{
    private readonly object _lock = new();
    private readonly string _path;
    private HostSettings _current;

    public HostSettingsStore(string inventoryRoot)
    {
        _path = Path.Combine(inventoryRoot, "host.json");
        try
        {
            _current = File.Exists(_path)
                ? (HostSettings?)JsonSerializer.Deserialize(File.ReadAllBytes(_path), typeof(HostSettings), HostSettingsJson.Default) ?? new HostSettings()
                : new HostSettings();
        }
        catch (JsonException e) { throw new InvalidDataException($"{_path} cannot be read ({e.Message}): repair it, or remove it to go back to the default host settings", e); }
    }

    public HostSettings Current { get { lock (_lock) return _current; } }

    /// <summary>Applies <paramref name="change"/> to the migration settings and writes them; returns the new settings.</summary>
    public MigrationSettings Change(MigrationSettingsChange change)
    {
        lock (_lock)
        {
            var next = _current with { Migration = change.ApplyTo(_current.Migration) };
            AtomicFile.Write(_path, JsonSerializer.SerializeToUtf8Bytes(next, typeof(HostSettings), HostSettingsJson.Default));
            _current = next;
            return next.Migration;
        }
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, UseStringEnumConverter = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(HostSettings))]
internal sealed partial class HostSettingsJson : JsonSerializerContext;
