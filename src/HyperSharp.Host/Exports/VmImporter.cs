using HyperSharp.Api.V1;
using HyperSharp.Host.Access;
using HyperSharp.Host.Checkpoints;
using HyperSharp.Host.Network;
using HyperSharp.Host.Service;
using HyperSharp.Inventory;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Exports;

/// <summary>
/// Import-VM's choices: register the export in place (its files become the VM's, its ID kept) or copy it (disks to
/// <see cref="VhdDestinationPath"/>, the VM's folder under <see cref="VirtualMachinePath"/>, checkpoint states to
/// <see cref="SnapshotFilePath"/>; each absent: the host's defaults), with a new ID and new dynamic MAC addresses if
/// asked. <see cref="NewName"/> is this host's addition: VM names are unique here, so a copy beside its original needs one.
/// </summary>
public sealed record ImportOptions(bool Copy, bool GenerateNewId, string? VhdDestinationPath, string? VirtualMachinePath, string? SnapshotFilePath, string? NewName);

/// <summary>What Compare-VM reports: the VM the export holds (as it would be imported) and what would stop the import.</summary>
public sealed record ImportReport(ExportedVm Export, ImportOptions Options, Guid Id, string Name, List<ImportIssue> Issues);

/// <summary>
/// Compare-VM -Path and Import-VM: one check of an export against this host (<see cref="Compare"/>), whose sentences the
/// import refuses with; then the VM's files put in place and the VM listed in one step. A failure before that step
/// removes everything the import made, so nothing is ever registered half-way.
/// </summary>
public sealed class VmImporter(VmManager vms, VmLifecycle lifecycle, VmNetworking networking, SwitchManager switches, PathAccess access, Action<string> log)
{
    private readonly object _importing = new();

    /// <summary>Compare-VM -Path: the export read (a hostile or corrupt one is refused naming its file) and checked against this host.</summary>
    public ImportReport Compare(string path, ImportOptions options, ClientIdentity client)
    {
        var paths = new RequestPaths(access, client);
        string file = paths.ReadableFile("path", path);
        if (options.Copy)
            options = options with
            {
                VhdDestinationPath = options.VhdDestinationPath is { Length: > 0 } vhds ? paths.Folder("vhd_destination_path", vhds) : null,
                VirtualMachinePath = options.VirtualMachinePath is { Length: > 0 } home ? paths.VmHome("virtual_machine_path", home) : null,
                SnapshotFilePath = options.SnapshotFilePath is { Length: > 0 } states ? paths.Folder("snapshot_file_path", states) : null,
            };
        else if (options is { VhdDestinationPath.Length: > 0 } or { VirtualMachinePath.Length: > 0 } or { SnapshotFilePath.Length: > 0 })
            throw HostErrors.Invalid("copy", "destination paths are for a copy: an import registered in place uses the export's own files");
        ExportedVm export;
        try { export = ExportReader.Read(file); }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw HostErrors.Invalid("path", e.Message);
        }
        if (export.Config is not { } config)
            return new ImportReport(export, options, Guid.Empty, "", [new ImportIssue(ImportIssueKind.NewerVersion, "configuration",
                $"{file} has configuration version {export.NewerVersion}, newer than this host reads (up to {VmConfiguration.CurrentVersion}); import it on a newer HyperSharp host")]);
        if (!options.Copy && options.GenerateNewId) throw HostErrors.Invalid("generate_new_id", "a new ID is given to a copy only: use it with copy (Import-VM -Copy -GenerateNewId)");
        Guid id = options.GenerateNewId ? Guid.NewGuid() : config.Id;
        string name = string.IsNullOrEmpty(options.NewName) ? config.Name : RequestValidation.Name("new_name", options.NewName);
        var issues = new List<ImportIssue>(export.Missing);
        if (!options.GenerateNewId && vms.List(null).FirstOrDefault(v => v.Id == id) is { } same)
            issues.Add(new ImportIssue(ImportIssueKind.IdInUse, "Virtual Machine", $"a VM with the ID {id} is already registered on this host ('{same.Name}'); import a copy with a new ID (-Copy -GenerateNewId)"));
        if (vms.List(null).FirstOrDefault(v => string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase)) is { } named)
            issues.Add(new ImportIssue(ImportIssueKind.NameInUse, "Virtual Machine", $"a VM named '{named.Name}' already exists on this host (id {named.Id}); VM names are unique here: give the import a new name"));
        foreach (var adapter in config.NetworkAdapters)
            if (adapter.SwitchId is { } switchId && switches.FindById(switchId) is null)
                issues.Add(new ImportIssue(ImportIssueKind.SwitchMissing, $"Network Adapter '{adapter.Name}'",
                    $"network adapter '{adapter.Name}' is connected to the virtual switch {switchId}, which this host does not have; create it or disconnect the adapter after the import"));
        // Addresses the import keeps (static ones, and dynamic ones without a new ID) must be free: MACs are unique on a host.
        var inUse = vms.List(null).SelectMany(v => v.Config.NetworkAdapters.Select(a => (a.MacAddress, Vm: v.Name))).ToList();
        foreach (var adapter in config.NetworkAdapters.Where(a => !(options.GenerateNewId && a.DynamicMacAddress)))
            if (inUse.FirstOrDefault(u => string.Equals(u.MacAddress, adapter.MacAddress, StringComparison.OrdinalIgnoreCase)) is { Vm: { } holder })
                issues.Add(new ImportIssue(ImportIssueKind.MacInUse, $"Network Adapter '{adapter.Name}'",
                    $"network adapter '{adapter.Name}' has the MAC address {adapter.MacAddress}, which VM '{holder}' on this host already has; MAC addresses are unique on a host"));
        foreach (var boot in new[] { config.Boot.KernelPath, config.Boot.InitrdPath })
            if (!string.IsNullOrEmpty(boot) && !File.Exists(boot))
                issues.Add(new ImportIssue(ImportIssueKind.BootFileMissing, "Boot", $"the boot file {boot} the VM starts from does not exist on this host"));
        return new ImportReport(export, options, id, name, issues);
    }

    /// <summary>Import-VM: refused with the report's sentences when it has any; else the VM registered (Off, or Saved when the export holds its saved state).</summary>
    public ManagedVm Import(string path, ImportOptions requested, ClientIdentity client)
    {
        lock (_importing)
        {
            var report = Compare(path, requested, client);
            var (file, options) = (report.Export.File, report.Options);
            if (report.Issues.Count > 0)
                throw HostErrors.Precondition($"cannot import {file}: {string.Join("; ", report.Issues.Select(i => i.Message))}");
            var export = report.Export;
            var config = export.Config! with { Id = report.Id, Name = report.Name };
            var made = new List<string>();
            List<NetworkAdapterSettings>? adapters = null;
            StagedVm? staged = null;
            try
            {
                string? home = options.Copy ? options.VirtualMachinePath : null;
                staged = vms.Inventory.Stage(config, home);
                var final = new VmFolder(Path.Combine(vms.Inventory.VmsDirectory, report.Id.ToString("D")));
                if (options.Copy) config = CopyFiles(config, options, staged.Folder, final, made);
                adapters = networking.TakeImportedAddresses(config.Name, config.NetworkAdapters, fresh: options.GenerateNewId);
                config = config with { NetworkAdapters = adapters };
                bool saved = export.SavedStateFile is not null;
                if (saved) StateFileCopy.Make(export.SavedStateFile!, staged.Folder.SavedStateFile);
                VmInventory.Save(staged.Folder, config);
                var runtime = new VmRuntimeRecord { State = saved ? RecordedState.Saved : RecordedState.Off, LastOffReason = $"imported from {file}" };
                VmInventory.Save(staged.Folder, runtime);
                var folder = staged.Commit();
                var vm = new ManagedVm(folder, config, runtime);
                vm.Found(saved ? PowerState.Saved : PowerState.Off);
                vms.Register(vm);
                lifecycle.Publish(vm, VmChangeKind.Created, $"VM '{vm.Name}' imported ({(options.Copy ? "copied" : "registered in place")}) from {file}");
                log($"VM '{vm.Name}' ({vm.Id}) imported from {file}{(options.Copy ? $", {made.Count} files copied" : " in place")}{(saved ? ", Saved" : "")}");
                return vm;
            }
            catch (Exception e)
            {
                if (adapters is not null) networking.ReleaseAddresses(adapters);
                staged?.Dispose();
                foreach (var copy in made) try { File.Delete(copy); } catch (IOException) { }
                if (e is HostException) throw;
                if (ImageCopies.IsCopyFailure(e)) throw HostErrors.Precondition($"cannot import {file}: {e.Message}; nothing was registered and the files copied were removed");
                throw;
            }
        }
    }

    /// <summary>Import -Copy: the chains to the disk folder, the checkpoint states to theirs; the configuration names the copies.</summary>
    private VmConfiguration CopyFiles(VmConfiguration config, ImportOptions options, VmFolder staged, VmFolder final, List<string> made)
    {
        string disks = options.VhdDestinationPath ?? vms.VirtualHardDiskPath;
        Directory.CreateDirectory(disks);
        var images = ImageCopies.Copy(ConfigurationPaths.Images(config), Path.GetFullPath(disks), made);
        string statesHere = options.SnapshotFilePath ?? staged.CheckpointsFolder;
        string statesThere = options.SnapshotFilePath ?? final.CheckpointsFolder;
        var states = new Dictionary<string, string>();
        foreach (var checkpoint in config.Checkpoints)
            if (checkpoint.SavedStateFile is { } state)
            {
                Directory.CreateDirectory(statesHere);
                string name = $"{checkpoint.Id:D}.state", target = Path.Combine(statesHere, name);
                if (Path.Exists(target)) throw new IOException($"{target} already exists; an import never overwrites a file");
                if (options.SnapshotFilePath is not null) made.Add(target);
                File.Copy(state, target);
                states[state] = Path.Combine(statesThere, name);
            }
        return ConfigurationPaths.Map(config, image => images[image], state => states[state]);
    }
}
