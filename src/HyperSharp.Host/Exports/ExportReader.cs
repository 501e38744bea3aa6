using System.Text.Json;
using HyperSharp.Inventory;
using HyperSharp.Vhdx.Operations;

namespace HyperSharp.Host.Exports;

/// <summary>
/// An export as Import-VM and Compare-VM see it: its folder, its configuration file, the configuration with every path
/// made absolute inside the folder, the saved state it carries (if any), and what could not be found. Null
/// <see cref="Config"/> with a <see cref="NewerVersion"/>: a newer build wrote it, and nothing else in it is read.
/// </summary>
public sealed record ExportedVm(string Root, string File, VmConfiguration? Config, int NewerVersion, string? SavedStateFile, List<ImportIssue> Missing);

/// <summary>
/// Reads an exported configuration (ExportLayout). A file that is not one — missing, not JSON, not a configuration, a
/// path in it that leaves the folder, an image whose parent locator leads out of it — is an
/// <see cref="InvalidDataException"/> naming the file; files that are simply absent are <see cref="ExportedVm.Missing"/>
/// (the compatibility report lists them).
/// </summary>
internal static class ExportReader
{
    public static ExportedVm Read(string file)
    {
        string root = ExportLayout.RootOf(file);
        if (!System.IO.File.Exists(file)) throw new FileNotFoundException($"{file} does not exist", file);
        int version;
        try
        {
            using var document = JsonDocument.Parse(System.IO.File.ReadAllBytes(file));
            version = document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("version", out var v) && v.TryGetInt32(out int n) ? n : 0;
        }
        catch (JsonException e) { throw new InvalidDataException($"{file}: not an exported VM configuration (not JSON: {e.Message})"); }
        if (version > VmConfiguration.CurrentVersion) return new ExportedVm(root, file, null, version, null, []);
        VmConfiguration config;
        try { config = VmInventory.ReadConfiguration(file) ?? throw new InvalidDataException($"{file} holds no configuration"); }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException)
        {
            throw new InvalidDataException($"{file}: not an exported VM configuration: {e.Message}");
        }
        if (config.Id == Guid.Empty || string.IsNullOrWhiteSpace(config.Name)) throw new InvalidDataException($"{file}: the configuration has no VM id or no name");
        if (config.Disks is null || config.Checkpoints.Any(c => c.Disks is null || c.Configuration is null))
            throw new InvalidDataException($"{file}: the configuration's drive or checkpoint list is damaged");

        var missing = new List<ImportIssue>();
        var absolute = ConfigurationPaths.Map(config, path => ExportLayout.Inside(root, path, file), path => ExportLayout.Inside(root, path, file));
        foreach (var image in ConfigurationPaths.Images(absolute).Distinct())
        {
            if (!System.IO.File.Exists(image)) { missing.Add(new ImportIssue(ImportIssueKind.DiskMissing, Relative(root, image), $"the virtual hard disk {image} is missing from the export")); continue; }
            try
            {
                foreach (var member in DiskChain.Paths(image))
                    if (!ExportLayout.IsUnder(root, member))
                        throw new InvalidDataException($"{image}: its chain leads out of the export folder {root}, to {member}");
            }
            catch (Exception e) when (e is IOException or Vhdx.VirtualDiskException or NotSupportedException or UnauthorizedAccessException)
            {
                missing.Add(new ImportIssue(ImportIssueKind.ParentMissing, Relative(root, image), $"the virtual hard disk {image} or a parent of it cannot be opened: {e.Message}"));
            }
        }
        foreach (var state in absolute.Checkpoints.Select(c => c.SavedStateFile).OfType<string>())
            if (!System.IO.File.Exists(state)) missing.Add(new ImportIssue(ImportIssueKind.StateMissing, Relative(root, state), $"the checkpoint memory state {state} is missing from the export"));
        string saved = Path.Combine(root, ExportLayout.SavedStateFile(config.Id));
        return new ExportedVm(root, file, absolute, 0, System.IO.File.Exists(saved) ? saved : null, missing);
    }

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path);
}
