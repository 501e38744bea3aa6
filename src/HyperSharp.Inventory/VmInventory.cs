using HyperSharp.Inventory.Platform;

namespace HyperSharp.Inventory;

/// <summary>
/// The VM folders under ROOT/vms, one per VM, named by the VM's ID (a symbolic link when New-VM -Path put the folder
/// elsewhere). Creation and removal are single renames, so a host killed half-way leaves a staging entry (.new-ID,
/// .removed-ID) that <see cref="Load"/> deletes, never a half-made VM; a damaged entry is listed, never fatal.
/// </summary>
public sealed class VmInventory
{
    internal const string NewPrefix = ".new-", RemovedPrefix = ".removed-";
    private readonly Action<string> _log;

    public VmInventory(string root, InventoryPermissions? permissions = null, Action<string>? log = null)
    {
        Root = Path.GetFullPath(root);
        VmsDirectory = Path.Combine(Root, "vms");
        Permissions = permissions ?? InventoryPermissions.Current;
        _log = log ?? (_ => { });
    }

    public string Root { get; }
    public string VmsDirectory { get; }
    public InventoryPermissions Permissions { get; }

    /// <summary>Finishes or undoes what a killed host left half-done, tightens modes an older build left loose, then reads every VM.</summary>
    public List<InventoryEntry> Load(Action<string> log)
    {
        Directory.CreateDirectory(VmsDirectory);
        Permissions.SecureFolder(Root);
        Permissions.SecureFolder(VmsDirectory);
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
            var entry = InventoryEntryReader.Read(path, id, Permissions);
            if (entry.Damage is { } damage) log($"VM folder {path} is damaged: {damage}");
            entries.Add(entry);
        }
        return entries;
    }

    /// <summary>
    /// Makes the VM's folder with its configuration under a staging name (<paramref name="parent"/>: New-VM -Path, an
    /// existing folder that gets the VM's folder); nothing is in the inventory until <see cref="StagedVm.Commit"/>, and
    /// disposing an uncommitted one removes every trace.
    /// </summary>
    public StagedVm Stage(VmConfiguration config, string? parent)
    {
        string id = config.Id.ToString("D");
        string staging = Path.Combine(VmsDirectory, NewPrefix + id);
        var staged = new StagedVm(this, staging, Path.Combine(VmsDirectory, id));
        try
        {
            if (parent is null) Directory.CreateDirectory(staging);
            else
            {
                // The link goes in first, so from the folder's first instant a restarted host finds (and removes) it through the link.
                string home = Path.Combine(Path.GetFullPath(parent), id);
                File.CreateSymbolicLink(staging, home);
                Directory.CreateDirectory(home);
                Posix.FsyncDirectory(Path.GetFullPath(parent));
            }
            Permissions.SecureFolder(staging);
            var folder = new VmFolder(staging);
            InventoryJson.WriteAtomic(folder.ConfigFile, config);
            InventoryJson.WriteAtomic(folder.RuntimeFile, new VmRuntimeRecord());
            return staged;
        }
        catch
        {
            staged.Dispose();
            throw;
        }
    }

    /// <summary>Stage and commit at once: the VM's folder with its configuration, all or nothing.</summary>
    public VmFolder Create(VmConfiguration config, string? parent)
    {
        using var staged = Stage(config, parent);
        return staged.Commit();
    }

    /// <summary>
    /// Lists a VM folder another host made (a clustered VM's folder on shared storage, taken over in a failover) in this
    /// inventory as a link named by its ID, as New-VM -Path does, and reads it. A link already there is read as it is.
    /// </summary>
    public InventoryEntry Link(string folder, Guid id)
    {
        Directory.CreateDirectory(VmsDirectory);
        string entry = Path.Combine(VmsDirectory, id.ToString("D"));
        if (FileStatus.Of(entry, followLinks: false) is null)
        {
            File.CreateSymbolicLink(entry, Path.GetFullPath(folder)); // one step: a host killed here finds the link or nothing
            Posix.FsyncDirectory(VmsDirectory);
        }
        return InventoryEntryReader.Read(entry, id, Permissions);
    }

    /// <summary>
    /// Takes a linked VM out of this inventory and leaves its folder whole (a clustered VM another node owns now): only the
    /// link goes. A folder that is not a link is refused, never deleted.
    /// </summary>
    public void Unlink(VmFolder folder)
    {
        if (FileStatus.Of(folder.Path, followLinks: false) is not { Kind: FileKind.SymbolicLink })
            throw new IOException($"{folder.Path} is not a link to a VM folder elsewhere: it is not unlinked");
        File.Delete(folder.Path);
        Posix.FsyncDirectory(VmsDirectory);
    }

    /// <summary>
    /// A VM's configuration file of any version up to this build's, as the current version (null when there is none).
    /// A file a newer build wrote is refused (InvalidDataException naming it and both versions): read as this version and
    /// saved back, it would lose what that build added.
    /// </summary>
    public static VmConfiguration? ReadConfiguration(string file)
    {
        var config = InventoryJson.Read<VmConfiguration>(file);
        if (config is { Version: > VmConfiguration.CurrentVersion })
            throw new InvalidDataException($"{file}: written by a newer HyperSharp (configuration version {config.Version}); " +
                $"this build reads versions 1 to {VmConfiguration.CurrentVersion}");
        // A version 1 file has no adapters, one before version 4 no checkpoints, one before version 5 no integration
        // services: the serializer leaves what a file lacks null. The next save writes the current version.
        return config is null ? null : config with
        {
            Version = VmConfiguration.CurrentVersion, NetworkAdapters = config.NetworkAdapters ?? [], Checkpoints = config.Checkpoints ?? [],
            IntegrationServices = config.IntegrationServices ?? new(),
        };
    }

    public static void Save(VmFolder folder, VmConfiguration config) => InventoryJson.WriteAtomic(folder.ConfigFile, config);

    public static void Save(VmFolder folder, VmRuntimeRecord runtime) => InventoryJson.WriteAtomic(folder.RuntimeFile, runtime);

    /// <summary>Removes the VM's folder (its disks stay where they are): one rename out of the inventory, then the delete.</summary>
    public void Remove(VmFolder folder)
    {
        string removed = Path.Combine(VmsDirectory, RemovedPrefix + Path.GetFileName(folder.Path));
        Posix.Rename(folder.Path, removed); // any kind of entry: a folder, a link (to a folder or to nothing), a plain file
        Posix.FsyncDirectory(VmsDirectory);
        DeleteEntry(removed);
    }

    /// <summary>
    /// Deletes an entry of ROOT/vms. A folder in the inventory is the host's and goes whole; a folder elsewhere (the
    /// target of a link) loses only the files the host made there, and itself once empty — never what a user put in it.
    /// </summary>
    internal void DeleteEntry(string path)
    {
        var entry = FileStatus.Of(path, followLinks: false);
        if (entry is null) return;
        if (entry.Value.Kind == FileKind.SymbolicLink)
        {
            string target = new VmFolder(path).Location;
            if (FileStatus.Of(target, followLinks: false) is { Kind: FileKind.Directory })
            {
                foreach (var file in new VmFolder(target).HostFiles.Concat(Directory.EnumerateFiles(target, "*" + AtomicFile.TemporarySuffix)))
                    DeleteAny(file);
                if (Directory.EnumerateFileSystemEntries(target).Any()) _log($"kept {target}: it holds files the host did not make");
                else Directory.Delete(target);
            }
            File.Delete(path);
        }
        else DeleteAny(path);
    }

    private static void DeleteAny(string path)
    {
        if (FileStatus.Of(path, followLinks: false) is { Kind: FileKind.Directory }) Directory.Delete(path, recursive: true);
        else File.Delete(path);
    }
}
