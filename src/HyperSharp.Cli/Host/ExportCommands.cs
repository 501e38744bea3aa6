using System.CommandLine;
using HyperSharp.Api.V1;

namespace HyperSharp.Cli.Host;

/// <summary>
/// `hyper vm export NAME --path P [--checkpoint C]` (Export-VM, Export-VMSnapshot) and `hyper vm import PATH [--copy
/// --generate-new-id ...] [--compare]` (Import-VM, Compare-VM -Path): each one VmHost call, text for people and --json
/// for scripts.
/// </summary>
internal static class ExportCommands
{
    public static Command Export(CliContext context)
    {
        var vm = ManagedVmCommands.NameArgument();
        var path = new Option<string>("--path") { Description = "An existing folder; the export is PATH/NAME, which must not exist", Required = true };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Export the VM as it was at this checkpoint (name or id; Export-VMSnapshot)" };
        var capture = new Option<string?>("--capture-live-state") { Description = "What becomes of a Saved VM's memory: CaptureSavedState (default; kept), CaptureCrashConsistentState or CaptureDataConsistentState (dropped)" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("export", "Export a VM that is Off or Saved, with its disks, checkpoints and saved state, to PATH/NAME (Export-VM)") { vm, path, checkpoint, capture, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            string target = Path.GetFullPath(result.GetValue(path)!);
            var reference = HostClient.Ref(result.GetValue(vm)!);
            ExportVmResponse exported;
            if (result.GetValue(checkpoint) is { } name)
            {
                var at = Guid.TryParse(name, out _) ? new CheckpointRef { Vm = reference, Id = name } : new CheckpointRef { Vm = reference, Name = name };
                exported = await client.Exports.ExportCheckpointAsync(new ExportCheckpointRequest { Checkpoint = at, Path = target }).ResponseAsync.ConfigureAwait(false);
            }
            else exported = await client.Exports.ExportVmAsync(new ExportVmRequest { Vm = reference, Path = target, CaptureLiveState = Capture(result.GetValue(capture)) }).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(exported));
            else context.Out.WriteLine($"exported to {exported.Folder}: {exported.Files} files, {exported.Bytes} bytes{(exported.HasSavedState ? ", with its saved state" : "")}; import {exported.ConfigurationFile}");
            return 0;
        }));
        return command;
    }

    public static Command Import(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "The export's configuration: EXPORT/Virtual Machines/ID.json" };
        var copy = new Option<bool>("--copy") { Description = "Copy the export's files (default: register them in place, keeping the VM's ID)" };
        var newId = new Option<bool>("--generate-new-id") { Description = "With --copy: a new VM ID and new dynamic MAC addresses" };
        var vhds = new Option<string?>("--vhd-destination-path") { Description = "With --copy: where the disks go (default: the host's virtual hard disk folder)" };
        var home = new Option<string?>("--virtual-machine-path") { Description = "With --copy: the folder the VM's folder goes in (default: the inventory)" };
        var states = new Option<string?>("--snapshot-file-path") { Description = "With --copy: where checkpoint memory states go (default: the VM's folder)" };
        var newName = new Option<string?>("--new-name") { Description = "A name for the imported VM (names are unique on a host)" };
        var compare = new Option<bool>("--compare") { Description = "Only report what would stop the import (Compare-VM -Path); exit 1 when something would" };
        var (socket, json) = (HostClient.SocketOption(), HostClient.JsonOption());
        var command = new Command("import", "Import an exported VM: register it in place or copy it (Import-VM), or check it first (--compare)")
            { path, copy, newId, vhds, home, states, newName, compare, socket, json };
        command.SetAction(result => HostClient.Run(context, result.GetValue(socket), async client =>
        {
            var request = new ImportVmRequest
            {
                Path = Path.GetFullPath(result.GetValue(path)!), Copy = result.GetValue(copy), GenerateNewId = result.GetValue(newId),
                VhdDestinationPath = Full(result.GetValue(vhds)), VirtualMachinePath = Full(result.GetValue(home)),
                SnapshotFilePath = Full(result.GetValue(states)), NewName = result.GetValue(newName) ?? "",
            };
            if (result.GetValue(compare))
            {
                var report = await client.Exports.CompareImportAsync(request).ResponseAsync.ConfigureAwait(false);
                if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(report));
                else if (report.Incompatibilities.Count == 0) context.Out.WriteLine($"VM '{report.VmName}' ({report.VmId}) can be imported");
                else foreach (var i in report.Incompatibilities) context.Out.WriteLine($"{i.Kind} ({i.Source}): {i.Message}");
                return report.Incompatibilities.Count == 0 ? 0 : 1;
            }
            var imported = await client.Exports.ImportVmAsync(request).ResponseAsync.ConfigureAwait(false);
            if (result.GetValue(json)) context.Out.WriteLine(HostClient.ToJson(imported));
            else context.Out.WriteLine($"{imported.Name}: imported ({imported.Id}), {imported.State}");
            return 0;
        }));
        return command;
    }

    private static string Full(string? path) => string.IsNullOrEmpty(path) ? "" : Path.GetFullPath(path);

    private static CaptureLiveState Capture(string? value) => value?.ToLowerInvariant() switch
    {
        null or "capturesavedstate" or "savedstate" => CaptureLiveState.SavedState,
        "capturecrashconsistentstate" or "crashconsistent" => CaptureLiveState.CrashConsistent,
        "capturedataconsistentstate" or "dataconsistent" => CaptureLiveState.DataConsistent,
        _ => throw new UsageException($"--capture-live-state: '{value}' is not one of CaptureSavedState, CaptureCrashConsistentState, CaptureDataConsistentState"),
    };
}
