using HyperSharp.Host.Platform;

namespace HyperSharp.Host.Inventory;

/// <summary>One VM as found in the inventory: its folder, configuration and runtime record.</summary>
public sealed record InventoryEntry(VmFolder Folder, VmConfiguration Configuration, VmRuntimeRecord Runtime);

/// <summary>
/// The VM folders under ROOT/vms, one per VM, named by the VM's ID (a symbolic link when New-VM -Path put
/// the folder elsewhere). Creation and removal are single renames, so a host killed half-way leaves a
/// staging folder (.new-ID, .removed-ID) that <see cref="Load"/> deletes, never a half-made VM.
/// </summary>
public sealed class VmInventory
{
    private const string NewPrefix = ".new-", RemovedPrefix = ".removed-";

    public VmInventory(string root)
    {
        Root = Path.GetFullPath(root);
        VmsDirectory = Path.Combine(Root, "vms");
    }

    public string Root { get; }
    public string VmsDirectory { get; }

    /// <summary>Finishes or undoes what a killed host left half-done, then reads every VM.</summary>
    public List<InventoryEntry> Load(Action<string> log)
    {
        Directory.CreateDirectory(VmsDirectory);
        var entries = new List<InventoryEntry>();
        foreach (var path in Directory.EnumerateFileSystemEntries(VmsDirectory))
        {
            string name = Path.GetFileName(path);
            if (name.StartsWith(NewPrefix, StringComparison.Ordinal) || name.StartsWith(RemovedPrefix, StringComparison.Ordinal))
            {
                log($"removing {path}, left by a host that stopped while creating or removing a VM");
                DeleteEntry(path);
                continue;
            }
            if (!Guid.TryParseExact(name, "D", out var id)) continue;
            var folder = new VmFolder(path);
            foreach (var temporary in Directory.EnumerateFiles(path, "*" + AtomicFile.TemporarySuffix)) File.Delete(temporary);
            VmConfiguration? config;
            try { config = ReadConfiguration(folder.ConfigFile); }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException)
            {
                log($"skipping {path}: its configuration is unreadable ({e.Message})");
                continue;
            }
            if (config is null || config.Id != id)
            {
                log($"skipping {path}: no configuration for VM {id} in it");
                continue;
            }
            entries.Add(new InventoryEntry(folder, config, InventoryJson.Read<VmRuntimeRecord>(folder.RuntimeFile) ?? new VmRuntimeRecord()));
        }
        return entries;
    }

    /// <summary>Creates the VM's folder with its configuration, all or nothing. <paramref name="parent"/>: New-VM -Path.</summary>
    public VmFolder Create(VmConfiguration config, string? parent)
    {
        string id = config.Id.ToString("D");
        string home = parent is null ? VmsDirectory : Path.GetFullPath(parent);
        Directory.CreateDirectory(home);
        string staging = Path.Combine(home, NewPrefix + id), final = Path.Combine(home, id);
        Directory.CreateDirectory(staging);
        var stagingFolder = new VmFolder(staging);
        InventoryJson.WriteAtomic(stagingFolder.ConfigFile, config);
        InventoryJson.WriteAtomic(stagingFolder.RuntimeFile, new VmRuntimeRecord());
        Directory.Move(staging, final);
        Posix.FsyncDirectory(home);
        if (parent is not null)
        {
            // The folder lives elsewhere: the inventory holds a link to it, made under a staging name and renamed in.
            string link = Path.Combine(VmsDirectory, NewPrefix + id);
            File.CreateSymbolicLink(link, final);
            File.Move(link, Path.Combine(VmsDirectory, id));
            Posix.FsyncDirectory(VmsDirectory);
        }
        return new VmFolder(Path.Combine(VmsDirectory, id));
    }

    /// <summary>A VM's configuration file of any version, as the current version (null when there is none).</summary>
    public static VmConfiguration? ReadConfiguration(string file)
    {
        var config = InventoryJson.Read<VmConfiguration>(file);
        // A version 1 file has no adapters; the serializer leaves such a list null, not empty. The next save writes the current version.
        return config is null ? null : config with { Version = VmConfiguration.CurrentVersion, NetworkAdapters = config.NetworkAdapters ?? [] };
    }

    public static void Save(VmFolder folder, VmConfiguration config) => InventoryJson.WriteAtomic(folder.ConfigFile, config);

    public static void Save(VmFolder folder, VmRuntimeRecord runtime) => InventoryJson.WriteAtomic(folder.RuntimeFile, runtime);

    /// <summary>Removes the VM's folder (its disks stay where they are): one rename out of the inventory, then the delete.</summary>
    public void Remove(VmFolder folder)
    {
        string removed = Path.Combine(VmsDirectory, RemovedPrefix + Path.GetFileName(folder.Path));
        Directory.Move(folder.Path, removed);
        Posix.FsyncDirectory(VmsDirectory);
        DeleteEntry(removed);
    }

    private static void DeleteEntry(string path)
    {
        var info = new DirectoryInfo(path);
        if (info.LinkTarget is string target)
        {
            string resolved = Path.GetFullPath(target, Path.GetDirectoryName(path)!);
            if (Directory.Exists(resolved)) Directory.Delete(resolved, recursive: true);
            File.Delete(path);
        }
        else if (info.Exists) Directory.Delete(path, recursive: true);
        else File.Delete(path);
    }
}
