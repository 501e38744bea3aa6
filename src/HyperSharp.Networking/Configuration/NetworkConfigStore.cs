using System.Text.Json;
using System.Text.Json.Serialization;

namespace HyperSharp.Networking.Configuration;

/// <summary>
/// Reads and writes <see cref="NetworkConfiguration"/> as JSON in one file. A save writes a
/// temporary file, flushes it to disk and renames it over the old one, so after a crash the file is
/// either the old or the new configuration, never half of one.
/// </summary>
public sealed class NetworkConfigStore(string path)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter() } };

    public string Path { get; } = path;

    /// <summary>The saved configuration, or an empty one when the file does not exist yet.</summary>
    public NetworkConfiguration Load()
    {
        if (!File.Exists(Path)) return new NetworkConfiguration();
        NetworkConfiguration? config;
        try { config = JsonSerializer.Deserialize<NetworkConfiguration>(File.ReadAllBytes(Path), Json); }
        catch (JsonException e) { throw new InvalidDataException($"{Path}: not a network configuration ({e.Message}); restore it from a backup or remove it", e); }
        if (config is null) throw new InvalidDataException($"{Path}: empty network configuration");
        if (config.Version is < 1 or > NetworkConfiguration.CurrentVersion)
            throw new InvalidDataException($"{Path}: network configuration version {config.Version}; this build reads 1 to {NetworkConfiguration.CurrentVersion}");
        var duplicate = config.Switches.GroupBy(s => s.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new InvalidDataException($"{Path}: two switches are named {duplicate.Key}");
        return config;
    }

    public void Save(NetworkConfiguration config)
    {
        string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!;
        Directory.CreateDirectory(directory);
        string temp = Path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(file, config with { Version = NetworkConfiguration.CurrentVersion }, Json);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, Path, overwrite: true);
    }
}
