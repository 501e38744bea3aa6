using HyperSharp.Inventory;

namespace HyperSharp.Host.Exports;

/// <summary>
/// Every file a configuration names that an export carries — its drives' images, its checkpoints' images and memory
/// states — rewritten by one map: absolute to relative on export, relative to absolute (checked) on import, old place to
/// new on an import's copy. Boot files are not among them (see <see cref="ExportLayout"/>).
/// </summary>
internal static class ConfigurationPaths
{
    public static VmConfiguration Map(VmConfiguration config, Func<string, string> disk, Func<string, string> state) => config with
    {
        Disks = [.. config.Disks.Select(d => d with { Path = disk(d.Path) })],
        Checkpoints = [.. config.Checkpoints.Select(c => c with
        {
            Disks = [.. c.Disks.Select(d => d with { Path = disk(d.Path), Drive = d.Drive with { Path = disk(d.Drive.Path) } })],
            Configuration = c.Configuration with { Disks = [.. c.Configuration.Disks.Select(d => d with { Path = disk(d.Path) })] },
            SavedStateFile = c.SavedStateFile is { } s ? state(s) : null,
        })],
    };

    /// <summary>The images the configuration names directly (not their parents).</summary>
    public static IEnumerable<string> Images(VmConfiguration config) =>
        config.Disks.Select(d => d.Path).Concat(config.Checkpoints.SelectMany(c => c.Disks.Select(d => d.Path)));
}
