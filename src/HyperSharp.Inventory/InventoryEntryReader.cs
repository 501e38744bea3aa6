using System.Text.Json;
using HyperSharp.Inventory.Platform;

namespace HyperSharp.Inventory;

/// <summary>
/// One VM as found in the inventory: its folder, configuration and runtime record — or, for a damaged folder, what is
/// wrong (<see cref="Damage"/>: the file and the problem) and the configuration if it was readable (the VM keeps its name).
/// </summary>
public sealed record InventoryEntry(Guid Id, VmFolder Folder, VmConfiguration? Configuration, VmRuntimeRecord Runtime, string? Damage = null);

/// <summary>
/// Reads one entry of ROOT/vms without letting anything in it stop the host: a plain file, a dangling link, a vm.json
/// that is a folder, a configuration or runtime record that does not parse — each becomes an entry with its damage
/// described, which the host lists (Off, the damage as its Status) until it is repaired or removed.
/// </summary>
internal static class InventoryEntryReader
{
    public static InventoryEntry Read(string path, Guid id, InventoryPermissions permissions)
    {
        var folder = new VmFolder(path);
        VmConfiguration? config = null;
        try
        {
            var target = FileStatus.Of(path);
            if (target is null)
                return Damaged($"{path}: a link to {new DirectoryInfo(path).LinkTarget}, which does not exist");
            if (target.Value.Kind != FileKind.Directory)
                return Damaged($"{path}: {FileStatus.Describe(target.Value.Kind)}, not a VM folder");
            permissions.SecureFolder(path);
            foreach (var temporary in Directory.EnumerateFiles(path, "*" + AtomicFile.TemporarySuffix)) File.Delete(temporary);
            foreach (var file in folder.HostFiles)
                if (FileStatus.Of(file, followLinks: false) is { Kind: FileKind.Regular }) permissions.SecureFile(file);

            if (FileStatus.Of(folder.ConfigFile) is { Kind: not FileKind.Regular } odd)
                return Damaged($"{folder.ConfigFile}: {FileStatus.Describe(odd.Kind)}, not a configuration file");
            try { config = VmInventory.ReadConfiguration(folder.ConfigFile); }
            catch (JsonException e) { return Damaged($"{folder.ConfigFile}: not a VM configuration ({e.Message})"); }
            if (config is null) return Damaged($"{folder.ConfigFile}: missing");
            if (config.Id != id) return Damaged($"{folder.ConfigFile}: holds VM {config.Id}, not {id} as the folder's name says", keep: false);

            if (FileStatus.Of(folder.RuntimeFile) is { Kind: not FileKind.Regular } oddRuntime)
                return Damaged($"{folder.RuntimeFile}: {FileStatus.Describe(oddRuntime.Kind)}, not a runtime record");
            VmRuntimeRecord? runtime;
            try { runtime = InventoryJson.Read<VmRuntimeRecord>(folder.RuntimeFile); }
            catch (JsonException e) { return Damaged($"{folder.RuntimeFile}: not a runtime record ({e.Message})"); }
            return new InventoryEntry(id, folder, config, runtime ?? new VmRuntimeRecord());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or NotSupportedException)
        {
            return Damaged($"{path}: {e.Message}");
        }

        InventoryEntry Damaged(string damage, bool keep = true) => new(id, folder, keep ? config : null, new VmRuntimeRecord(), damage);
    }
}
