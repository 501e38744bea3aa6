using System.Text.Json;
using HyperSharp.Host.Access;
using HyperSharp.Host.Service;
using HyperSharp.Inventory;
using HyperSharp.Host.Service.Domain;

namespace HyperSharp.Host.Exports;

/// <summary>What an export wrote: its folder, the configuration file in it, its files and their bytes, and whether it holds a saved state.</summary>
public sealed record ExportOutcome(string Folder, string ConfigurationFile, int Files, long Bytes, bool SavedState, TimeSpan Elapsed);

/// <summary>What Export-VM does with a Saved VM's memory (Hyper-V's -CaptureLiveState; a running VM is refused whatever it says).</summary>
public enum LiveStateCapture { SavedState, CrashConsistent, DataConsistent }

/// <summary>
/// Export-VM and Export-VMSnapshot: a VM (or a VM as it was at one checkpoint) written as a new folder PATH/NAME laid
/// out as <see cref="ExportLayout"/> says. The source is only read, under its operation lock (nothing starts or changes
/// it meanwhile). The folder is built under a hidden name and renamed into place at the end, so a failure leaves
/// nothing, and an existing PATH/NAME is refused.
/// </summary>
public sealed class VmExporter(VmLifecycle lifecycle, PathAccess access, Action<string> log)
{
    /// <summary>Export-VM of a VM that is Off or Saved (its saved state kept unless <paramref name="capture"/> says otherwise), with its checkpoint tree.</summary>
    public ExportOutcome Export(ManagedVm vm, string path, LiveStateCapture capture, ClientIdentity client)
    {
        string parent = new RequestPaths(access, client).Folder("path", path);
        using var _ = lifecycle.Begin(vm, "exporting");
        if (vm.State is not (PowerState.Off or PowerState.Saved))
            throw HostErrors.Precondition($"cannot export VM '{vm.Name}' while it is {StateNames.Of(vm.State)}: this host exports a VM only at rest, as a consistent copy of a running one needs a checkpoint taken for the export; save it (Save-VM) or shut it down first");
        // Crash- and data-consistent captures of a Saved VM drop its memory, as Hyper-V does: the copy starts Off from its disks.
        string? savedState = vm.State == PowerState.Saved && capture == LiveStateCapture.SavedState ? vm.Folder.SavedStateFile : null;
        return Write(vm.Name, vm.Config, savedState, parent, $"VM '{vm.Name}'");
    }

    /// <summary>Export-VMSnapshot: the VM as it was at the checkpoint — that checkpoint's configuration, the images its drives had then (with their chains), its memory state if it has one — without a checkpoint tree.</summary>
    public ExportOutcome ExportCheckpoint(ManagedVm vm, Guid checkpointId, string path, ClientIdentity client)
    {
        string parent = new RequestPaths(access, client).Folder("path", path);
        using var _ = lifecycle.Begin(vm, "exporting a checkpoint of");
        var checkpoint = vm.Config.Checkpoints.FirstOrDefault(c => c.Id == checkpointId) ?? throw HostErrors.NotFound($"VM '{vm.Name}' no longer has that checkpoint");
        if (vm.State is not (PowerState.Off or PowerState.Saved))
            throw HostErrors.Precondition($"cannot export checkpoint '{checkpoint.Name}' of VM '{vm.Name}' while the VM is {StateNames.Of(vm.State)}: its worker holds the images of the chain open; save it or shut it down first");
        var then = checkpoint.Configuration with
        {
            Id = vm.Id, Name = vm.Name, Checkpoints = [], CurrentCheckpointId = null,
            Disks = [.. checkpoint.Disks.Select(d => d.Drive with { Path = d.Path })],
            NetworkAdapters = vm.Config.NetworkAdapters,
        };
        return Write(vm.Name, then, checkpoint.SavedStateFile, parent, $"checkpoint '{checkpoint.Name}' of VM '{vm.Name}'");
    }

    private ExportOutcome Write(string name, VmConfiguration config, string? savedState, string parent, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string target = Path.Combine(parent, name);
        if (Path.Exists(target)) throw HostErrors.AlreadyExists($"cannot export {what}: {target} already exists; export to another folder or remove it first");
        string staging = Path.Combine(parent, $".{name}.export-{Guid.NewGuid():N}");
        try
        {
            foreach (var sub in new[] { ExportLayout.MachinesFolder, ExportLayout.DisksFolder, ExportLayout.SnapshotsFolder })
                Directory.CreateDirectory(Path.Combine(staging, sub));
            var images = ImageCopies.Copy(ConfigurationPaths.Images(config), Path.Combine(staging, ExportLayout.DisksFolder), []);
            var states = new Dictionary<string, string>();
            foreach (var checkpoint in config.Checkpoints)
                if (checkpoint.SavedStateFile is { } state)
                {
                    string relative = ExportLayout.CheckpointStateFile(checkpoint.Id);
                    File.Copy(state, Path.Combine(staging, relative));
                    states[state] = relative;
                }
            if (savedState is not null) File.Copy(savedState, Path.Combine(staging, ExportLayout.SavedStateFile(config.Id)));
            var exported = ConfigurationPaths.Map(config, image => Path.GetRelativePath(staging, images[image]), state => states[state]);
            string configFile = ExportLayout.ConfigurationFile(config.Id);
            File.WriteAllBytes(Path.Combine(staging, configFile), JsonSerializer.SerializeToUtf8Bytes(exported, InventoryJson.Default.VmConfiguration));
            Directory.Move(staging, target);
            var files = Directory.GetFiles(target, "*", SearchOption.AllDirectories);
            long bytes = files.Sum(f => new FileInfo(f).Length);
            log($"{what} exported to {target}: {files.Length} files, {bytes} bytes, in {clock.Elapsed.TotalSeconds:0.00} s");
            return new ExportOutcome(target, Path.Combine(target, configFile), files.Length, bytes, savedState is not null, clock.Elapsed);
        }
        catch (Exception e) when (ImageCopies.IsCopyFailure(e))
        {
            Remove(staging);
            throw HostErrors.Precondition($"cannot export {what} to {target}: {e.Message}; nothing was left there");
        }
        catch
        {
            Remove(staging);
            throw;
        }
    }

    private void Remove(string staging)
    {
        try { if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { log($"could not remove the partial export {staging}: {e.Message}"); }
    }
}
